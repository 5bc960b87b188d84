package io.flotilla.engine.node;

import java.io.IOException;

/**
 * The data directory belongs to another node or cluster than the one this process was started as.
 * Thrown at startup, before anything in the directory is opened.
 */
public final class NodeIdentityException extends IOException {
    public NodeIdentityException(String message) {
        super(message);
    }
}
