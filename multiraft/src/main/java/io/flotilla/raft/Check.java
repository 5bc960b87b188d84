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

    // Primitive overloads: a passing check must not box its arguments (these sit on hot paths).

    public static void state(boolean ok, String format, long a) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, a));
        }
    }

    public static void state(boolean ok, String format, long a, long b) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, a, b));
        }
    }

    public static void state(boolean ok, String format, long a, long b, long c) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, a, b, c));
        }
    }

    public static void state(boolean ok, String format, long a, long b, long c, long d) {
        if (!ok) {
            throw new IllegalStateException(String.format(format, a, b, c, d));
        }
    }

    public static void argument(boolean ok, String format, long a) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, a));
        }
    }

    public static void argument(boolean ok, String format, long a, long b) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, a, b));
        }
    }

    public static void argument(boolean ok, String format, long a, long b, long c) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, a, b, c));
        }
    }

    public static void argument(boolean ok, String format, long a, long b, long c, long d) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, a, b, c, d));
        }
    }

    public static void argument(boolean ok, String format, Object... args) {
        if (!ok) {
            throw new IllegalArgumentException(String.format(format, args));
        }
    }
}
