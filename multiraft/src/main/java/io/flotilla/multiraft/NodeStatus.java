package io.flotilla.multiraft;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Whether a node's runtime still works. The first worker that fails records why here; every other
 * worker sees it at its next round and stops too (fail-stop of the whole node: a node that keeps
 * heartbeating with a dead worker would keep that worker's followers from ever electing, and its
 * inbox would take proposals nobody answers). Any thread.
 */
final class NodeStatus {
    private static final System.Logger LOG = System.getLogger(NodeStatus.class.getName());

    private final long nodeId;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private volatile Runnable wakeWorkers = () -> { };

    NodeStatus(long nodeId) {
        this.nodeId = nodeId;
    }

    void onFailure(Runnable wakeWorkers) {
        this.wakeWorkers = wakeWorkers;
    }

    /** Worker {@code workerId} failed with {@code cause}: the node stops. */
    void fail(Throwable cause, int workerId) {
        if (failure.compareAndSet(null, cause)) {
            LOG.log(System.Logger.Level.ERROR, "node " + nodeId + ": worker " + workerId + " failed; the node stops"
                    + " (peers elect new leaders for its groups; restart it to recover from its log)", cause);
            wakeWorkers.run();
        }
    }

    /** Why the node stopped, or null while it works. */
    Throwable failure() {
        return failure.get();
    }
}
