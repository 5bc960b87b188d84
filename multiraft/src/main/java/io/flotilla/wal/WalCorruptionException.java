package io.flotilla.wal;

import java.io.IOException;

/**
 * The log holds bytes that are not what this node wrote, somewhere recovery may not discard them
 * (anywhere but a torn tail): a CRC mismatch, an impossible length, a bad segment header, a missing
 * segment. Thrown to the thread recovering or reading the log; the node must not start on this log.
 */
public final class WalCorruptionException extends IOException {
    private final String fileName;
    private final long offsetBytes;

    public WalCorruptionException(String fileName, long offsetBytes, String detail) {
        super("write-ahead log corrupt in " + fileName + " at offset " + offsetBytes + ": " + detail
                + ". Recovery refuses to skip it: rebuild this node's replicas from their peers (empty its data"
                + " directory and re-add the node), or move the file aside to investigate");
        this.fileName = fileName;
        this.offsetBytes = offsetBytes;
    }

    /** The segment file's name (no directory). */
    public String fileName() {
        return fileName;
    }

    /** Offset in that file of the first byte that could not be trusted. */
    public long offsetBytes() {
        return offsetBytes;
    }
}
