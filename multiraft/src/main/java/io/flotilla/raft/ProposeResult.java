package io.flotilla.raft;

/** The outcome of a proposal. Anything but {@link #ACCEPTED} means nothing was appended. */
public enum ProposeResult {
    /** Appended to the leader's log; it commits unless leadership is lost first. */
    ACCEPTED,
    /** This replica is not the leader; {@link RaftNode#leader()} is the best guess (0 if unknown). */
    NOT_LEADER,
    /** A leader transfer is under way; retry once it finishes (Raft thesis §3.10). */
    LEADER_TRANSFERRING,
    /** Uncommitted entries already exceed {@link RaftConfig#maxUncommittedEntriesBytes()}; retry later. */
    UNCOMMITTED_LIMIT,
    /** A membership change is still pending (proposed but not applied); one at a time. */
    CONF_CHANGE_PENDING,
    /** The command is larger than one log record can hold (the runtime's limit; the core has none). */
    ENTRY_TOO_LARGE,
    /** The membership change does not apply to the current configuration (e.g. adding an existing voter). */
    CONF_CHANGE_INVALID,
    /** The node stopped (closed, or failed and stopped itself) before the command left it; retry on another node. */
    NODE_STOPPED
}
