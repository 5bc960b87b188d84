package io.flotilla.client;

/**
 * A node failed to serve a request because of a fault of its own (or answered something this
 * client cannot understand). A write's outcome is unknown. Immutable, any thread.
 */
public final class NodeInternalException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public NodeInternalException(String message) {
        super(message);
    }
}
