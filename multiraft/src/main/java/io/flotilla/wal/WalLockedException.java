package io.flotilla.wal;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A log directory is already in use by another process or another log instance in this process.
 * Thrown to the thread opening the log; nothing was read or written.
 */
public final class WalLockedException extends IOException {
    private final Path directory;

    public WalLockedException(Path directory, String holder) {
        super("log directory " + directory + " is locked by " + holder
                + ": another Flotilla node is using it; stop that node or give this one its own data directory");
        this.directory = directory;
    }

    public Path directory() {
        return directory;
    }
}
