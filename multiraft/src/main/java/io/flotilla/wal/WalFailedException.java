package io.flotilla.wal;

import java.io.IOException;

/**
 * The log has stopped for good: a write or fsync failed (or the writer hit a bug), so nothing
 * submitted after that point will ever be acknowledged. Fail-stop, never retried: after a failed
 * fsync the kernel may have dropped the dirty pages and cleared the error, so a retry that
 * "succeeds" would acknowledge bytes that are not on disk. Handed to every pending submission's
 * callback on the log's completer thread and thrown to every later submitter; {@link #getCause()} is the
 * original error.
 */
public final class WalFailedException extends IOException {
    private final String detail;

    public WalFailedException(String detail, Throwable cause) {
        super("write-ahead log failed: " + detail + ". The log refuses every further write; stop this node and"
                + " restart it (recovery keeps every acknowledged record), after fixing the disk if it is faulty", cause);
        this.detail = detail;
    }

    /** What failed, without the advice around it. */
    public String detail() {
        return detail;
    }
}
