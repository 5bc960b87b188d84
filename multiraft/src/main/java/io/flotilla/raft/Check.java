package io.flotilla.raft;

/**
 * Always-on invariant checks. A broken invariant means a bug or a corrupt input that got past
 * validation; it throws at once with the values in the message (STYLE.md: never log and continue).
 */
public final class Check {
    private Check() {
    }

    public static void state(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, args));
        }
    }

    public static void argument(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }
}
