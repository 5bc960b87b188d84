package io.flotilla.raft;

/**
 * Why a replica dropped a message from a peer without acting on it; {@link RaftNode} counts drops
 * per reason ({@link RaftNode#droppedMessages(DropReason)}). Dropping is always safe in Raft: a lost
 * message is one the protocol already tolerates. Read on the replica's owning thread.
 */
public enum DropReason {
    /** Addressed to another replica or group, or claiming to come from no replica or from this one. */
    MISADDRESSED(1),
    /** Fields no correct replica sends: entries out of order, a log term above the message's term, ... */
    MALFORMED(2),
    /** A term above {@link RaftNode#MAX_TERM}: no run of elections reaches it. */
    TERM_ABOVE_MAXIMUM(3),
    /** A term more than {@link RaftNode#MAX_TERM_JUMP} above this replica's. */
    TERM_JUMP(4),
    /** A vote request or TIMEOUT_NOW from a replica that may not campaign in this replica's configuration. */
    NOT_A_VOTER(5),
    /** A TIMEOUT_NOW from a replica other than the leader this replica follows. */
    NOT_THE_LEADER(6),
    /**
     * From a replica outside this replica's configuration: a response or forwarded read that would
     * raise its term, or an answer to a leader that no longer tracks the sender.
     */
    NOT_A_MEMBER(7),
    /** A message this replica's role does not expect, such as an answer to a request it did not send. */
    UNEXPECTED(8);

    public final int code;

    DropReason(int code) {
        this.code = code;
    }
}
