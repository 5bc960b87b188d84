package io.flotilla.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Path;

/**
 * The exclusive hold on a log directory that lets exactly one log instance use it. Owned by the
 * thread that opened the log; closing it (once, when the log closes) releases the directory.
 */
public interface WalDirectoryLock extends Closeable {
    /** The locked directory. */
    Path directory();

    @Override
    void close() throws IOException;
}
