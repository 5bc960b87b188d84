package io.flotilla.engine.kv;

/**
 * Points in the middle of a split where a test can make a node process die, to check that the
 * split is redone from the log after a restart: the JVM system property {@code flotilla.crash-at}
 * names one of them, and a node that reaches it halts at once — no shutdown hooks, nothing
 * flushed, RocksDB's memtables lost — as SIGKILL would leave it. Never set in production, where
 * {@link #reach} is one comparison with an empty string.
 */
public final class CrashPoints {
    /** The new range's column family is imported from the split range's, nothing trimmed yet. */
    public static final String SPLIT_CHILD_IMPORTED = "split-child-imported";
    /** The new range's trimming batch and apply state are written, not yet flushed. */
    public static final String SPLIT_CHILD_WRITTEN = "split-child-written";
    /** The new range's state is durable; the split range still holds its keys. */
    public static final String SPLIT_CHILD_MADE = "split-child-made";
    /** Both sides are written; the split range's write is not flushed. */
    public static final String SPLIT_APPLIED = "split-applied";

    private static final String ARMED = System.getProperty("flotilla.crash-at", "");

    private CrashPoints() {
    }

    /** Halts the process if {@code point} is the armed one. */
    public static void reach(String point) {
        if (ARMED.equals(point)) {
            System.err.println("flotilla: crashing at " + point + " (flotilla.crash-at)");
            System.err.flush();
            Runtime.getRuntime().halt(137);
        }
    }
}
