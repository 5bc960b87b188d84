package io.flotilla.multiraft;

import io.flotilla.raft.ProposeResult;

/**
 * Learns what became of a proposal. Called on the worker thread that owns the group: keep it short
 * and never block (hand the result to the client's thread).
 */
public interface ProposalListener {
    /** The command was committed and applied at {@code index}. */
    void onApplied(long groupId, long index);

    /**
     * The command was not appended ({@code result} says why; {@code leaderHint} is the leader this
     * replica knows of, 0 if none), or it was appended but overwritten by another leader's entry
     * ({@code result} is NOT_LEADER). Either way it will never apply; retry with the leader.
     */
    void onRefused(long groupId, ProposeResult result, long leaderHint);

    /**
     * The command was appended at {@code index}, but this replica's log was then replaced by a
     * snapshot from the leader that covers that index: it may or may not have applied. Retry only
     * if the command is idempotent (client sessions make retries exactly-once).
     */
    void onOutcomeUnknown(long groupId, long index);

    /** The worker's queue is full: back-pressure, retry later. */
    void onBusy(long groupId);
}
