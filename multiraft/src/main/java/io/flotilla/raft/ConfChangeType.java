package io.flotilla.raft;

/** The single-step membership changes the core accepts. */
public enum ConfChangeType {
    /** Adds a new voter (one that is neither voter nor learner). */
    ADD_VOTER(1),
    /** Removes a voter or a learner. */
    REMOVE_NODE(2),
    /** Adds a learner: it receives the log but never votes and never counts toward a quorum. */
    ADD_LEARNER(3),
    /** Turns an existing learner into a voter. */
    PROMOTE_LEARNER(4);

    public final int code;

    ConfChangeType(int code) {
        this.code = code;
    }

    public static ConfChangeType fromCode(int code) {
        for (ConfChangeType t : values()) {
            if (t.code == code) {
                return t;
            }
        }
        return null;
    }
}
