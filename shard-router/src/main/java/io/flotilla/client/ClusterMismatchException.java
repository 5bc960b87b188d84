package io.flotilla.client;

/** A node belongs to another cluster than the client's {@code clusterId}. Immutable, any thread. */
public final class ClusterMismatchException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final long nodeClusterId;

    public ClusterMismatchException(String message, long nodeClusterId) {
        super(message);
        this.nodeClusterId = nodeClusterId;
    }

    public long nodeClusterId() {
        return nodeClusterId;
    }
}
