package io.flotilla.raft;

/** The role a replica plays in its group. */
public enum Role {
    FOLLOWER(0),
    /** Asking for pre-votes; its term has not been bumped yet (Raft thesis §9.6). */
    PRE_CANDIDATE(1),
    CANDIDATE(2),
    LEADER(3);

    public final int code;

    Role(int code) {
        this.code = code;
    }
}
