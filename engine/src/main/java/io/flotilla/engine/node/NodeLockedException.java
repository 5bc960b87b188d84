package io.flotilla.engine.node;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Another node process (or another node in this process) holds the data directory's lock. Thrown to
 * the thread starting the node; nothing in the directory was read or written.
 */
public final class NodeLockedException extends IOException {
    public NodeLockedException(Path directory, String holder) {
        super("data directory " + directory + " is in use by " + holder
                + ": another Flotilla node is running on it. Stop that node first, or give this one its own --data-dir");
    }
}
