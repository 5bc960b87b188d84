package io.flotilla.wal;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * The file layer the log does all its IO through, so that tests can inject faults (lost unsynced
 * writes, torn writes, lost directory entries) without mocks. Implementations are safe to call from
 * several threads; each {@link WalFile} they return is owned by one thread at a time.
 */
public interface WalFileSystem {
    /** Creates a new, empty file for reading and writing; fails if it already exists. */
    WalFile create(Path path) throws IOException;

    /** Opens an existing file for reading and writing; fails if it does not exist. */
    WalFile open(Path path) throws IOException;

    /** True if a file or directory exists at {@code path}. */
    boolean exists(Path path) throws IOException;

    /** Creates the directory and any missing parents (does nothing if it exists). */
    void createDirectories(Path directory) throws IOException;

    /**
     * Renames atomically, replacing nothing: fails if {@code to} exists. The new name is durable only
     * after {@link #fsyncDirectory(Path)} on the parent.
     */
    void rename(Path from, Path to) throws IOException;

    /** Deletes a file; the removal is durable only after {@link #fsyncDirectory(Path)}. */
    void delete(Path path) throws IOException;

    /** The names of the entries in {@code directory}, sorted. */
    List<String> list(Path directory) throws IOException;

    /** Makes the directory's entries (creations, renames, deletions) durable. */
    void fsyncDirectory(Path directory) throws IOException;

    /**
     * Takes the exclusive lock on a log directory, held until the returned lock is closed.
     *
     * @throws WalLockedException if another process, or another opener in this process, holds it
     */
    WalDirectoryLock lock(Path directory) throws IOException;
}
