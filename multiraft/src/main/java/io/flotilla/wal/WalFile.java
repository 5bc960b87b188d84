package io.flotilla.wal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * One open file of the log, addressed by absolute positions (no shared file pointer). Owned by one
 * thread at a time: the writer thread for the segment it appends to, the preallocating thread while
 * it creates a segment, the recovery thread while it scans.
 */
public interface WalFile extends Closeable {
    /** The file's path as it was opened (a later rename does not change it). */
    Path path();

    /** Writes every remaining byte of {@code src} starting at {@code positionBytes}; advances {@code src}'s position. */
    void write(ByteBuffer src, long positionBytes) throws IOException;

    /**
     * Reads from {@code positionBytes} until {@code dst} is full or the file ends; advances
     * {@code dst}'s position and returns the number of bytes read (0 at or past the end).
     */
    int read(ByteBuffer dst, long positionBytes) throws IOException;

    /**
     * Makes every byte written so far durable, with the metadata needed to read it back (fdatasync).
     * An error here is fail-stop for the log: callers never retry it.
     */
    void force() throws IOException;

    /** The file's current size. */
    long sizeBytes() throws IOException;

    /** Cuts the file to {@code sizeBytes} (does nothing if it is already that short). */
    void truncate(long sizeBytes) throws IOException;
}
