package io.flotilla.raft;

/**
 * The kinds of message Raft replicas of one group exchange. Codes are stable: they are the wire
 * values in {@code raft.proto}.
 */
public enum MessageType {
    /** Leader to follower: entries after {@code index}/{@code logTerm}, and the leader's commit. */
    APPEND(1),
    /** Follower to leader: accepted up to {@code index}, or rejected with a hint. */
    APPEND_RESPONSE(2),
    /** Candidate to voter: a vote request for {@code term}. */
    VOTE(3),
    VOTE_RESPONSE(4),
    /** Would-be candidate to voter: "would you vote for me in {@code term}?" (Raft thesis §9.6). */
    PRE_VOTE(5),
    PRE_VOTE_RESPONSE(6),
    /** Leader to follower: liveness, the commit index, and a read-confirmation round in {@code context}. */
    HEARTBEAT(7),
    HEARTBEAT_RESPONSE(8),
    /** Leader to follower: install this snapshot; answered with an {@link #APPEND_RESPONSE}. */
    SNAPSHOT(9),
    /** Leader to transfer target: start an election now, ignoring leases (Raft thesis §3.10). */
    TIMEOUT_NOW(10),
    /** Follower to leader: a forwarded read-index request, its id in {@code context}. */
    READ_INDEX(11),
    /** Leader to follower: the read index for request {@code context}, or a rejection. */
    READ_INDEX_RESPONSE(12);

    public final int code;

    MessageType(int code) {
        this.code = code;
    }

    private static final MessageType[] BY_CODE = new MessageType[13];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    /** Returns the type with this wire code, or null if there is none. */
    public static MessageType fromCode(int code) {
        return code > 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }
}
