package io.flotilla.multiraft;

import io.flotilla.raft.ProposeResult;

/**
 * Learns what became of a proposal: exactly one of its methods is called, once. Called on the
 * worker thread that owns the group (or, if the node has stopped, on the caller's thread): keep it
 * short and never block (hand the result to the client's thread).
 */
public interface ProposalListener {
    /** The command was committed and applied at {@code index}. */
    void onApplied(long groupId, long index);

    /**
     * The command will never apply; retry with the leader. Either it never left this replica
     * ({@code result} says why: NOT_LEADER with {@code leaderHint} the leader this replica knows of,
     * 0 if none; NODE_STOPPED if the node closed or failed), or another leader's entry committed at
     * its index.
     */
    void onRefused(long groupId, ProposeResult result, long leaderHint);

    /**
     * The command was appended at {@code index} and may have reached other replicas, but this
     * replica can no longer tell whether it commits: it lost leadership, was removed, the node
     * stopped, or a snapshot from the leader replaced its log. It may or may not apply. Retry only
     * if the command is idempotent (client sessions make retries exactly-once).
     */
    void onOutcomeUnknown(long groupId, long index);

    /** The worker's queue is full: back-pressure, retry later. */
    void onBusy(long groupId);
}
