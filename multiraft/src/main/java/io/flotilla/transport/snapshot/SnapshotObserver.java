package io.flotilla.transport.snapshot;

/**
 * Hears of each snapshot this node sent or installed, for its metrics. Called on the snapshot
 * sender's I/O thread ({@link #sent}) or on the installing group's worker ({@link #installed}), so
 * it must be quick and must not block.
 */
public interface SnapshotObserver {
    SnapshotObserver NONE = new SnapshotObserver() {
    };

    /**
     * A snapshot image of {@code bytes} reached its peer, {@code durationNs} after the transfer was
     * queued (waiting for a send slot and retries included).
     */
    default void sent(long bytes, long durationNs) {
    }

    /** A received image of {@code bytes} was restored into the state machine in {@code durationNs}. */
    default void installed(long bytes, long durationNs) {
    }
}
