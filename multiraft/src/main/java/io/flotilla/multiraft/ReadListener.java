package io.flotilla.multiraft;

/**
 * Learns when a linearizable read of a group may be served from the local state machine. Called on
 * the worker thread that owns the group, exactly once per read: keep it short and never block.
 */
public interface ReadListener {
    /** The state machine has applied everything committed when the read was issued: serve it now. */
    void onReadable(long groupId);

    /**
     * The read point could not be confirmed: no leader, leadership changed, the replica was removed,
     * the node stopped, or no answer came before the read's deadline. Retry (with the leader).
     */
    void onFailed(long groupId);

    /** The worker's queue is full: back-pressure, retry later. */
    void onBusy(long groupId);
}
