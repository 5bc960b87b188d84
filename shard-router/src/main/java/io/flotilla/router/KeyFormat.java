package io.flotilla.router;

import com.google.protobuf.ByteString;

/**
 * Renders keys for messages people read: printable ASCII as text in quotes, anything else as
 * {@code 0x} hex, both cut after a bound so a 64 KiB key does not flood a log. Pure functions,
 * safe from any thread.
 */
public final class KeyFormat {
    private static final int MAX_SHOWN_BYTES = 48;

    private KeyFormat() {
    }

    /** The key as text or hex; the empty key is shown as {@code ""}. */
    public static String describe(ByteString key) {
        int shown = Math.min(key.size(), MAX_SHOWN_BYTES);
        boolean printable = true;
        for (int i = 0; i < shown && printable; i++) {
            int b = key.byteAt(i) & 0xff;
            printable = b >= 0x20 && b < 0x7f && b != '"';
        }
        StringBuilder text = new StringBuilder(shown * 2 + 8);
        if (printable) {
            text.append('"').append(key.substring(0, shown).toStringUtf8()).append('"');
        } else {
            text.append("0x");
            for (int i = 0; i < shown; i++) {
                text.append(Character.forDigit((key.byteAt(i) >> 4) & 0xf, 16)).append(Character.forDigit(key.byteAt(i) & 0xf, 16));
            }
        }
        if (shown < key.size()) {
            text.append("...(").append(key.size()).append(" bytes)");
        }
        return text.toString();
    }

    /** {@code [start, end)} with an empty end shown as the end of the key space. */
    public static String describeInterval(ByteString start, ByteString end) {
        return "[" + describe(start) + ", " + (end.isEmpty() ? "end" : describe(end)) + ")";
    }
}
