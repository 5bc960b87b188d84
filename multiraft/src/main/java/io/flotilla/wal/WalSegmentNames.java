package io.flotilla.wal;

/**
 * How segment files are named: {@code %016x.wal}, and {@code %016x.wal.tmp} while being created.
 * Stateless; any thread.
 */
public final class WalSegmentNames {
    public static final String SUFFIX = ".wal";
    public static final String TEMP_SUFFIX = ".wal.tmp";
    private static final int HEX_DIGITS = 16;

    private WalSegmentNames() {
    }

    public static String fileName(long sequence) {
        return String.format("%016x", sequence) + SUFFIX;
    }

    public static String tempFileName(long sequence) {
        return String.format("%016x", sequence) + TEMP_SUFFIX;
    }

    /** The sequence number of a segment file name, or -1 if the name is not one. */
    public static long parseSequence(String name) {
        return parse(name, SUFFIX);
    }

    /** The sequence number of a temporary segment file name, or -1 if the name is not one. */
    public static long parseTempSequence(String name) {
        return parse(name, TEMP_SUFFIX);
    }

    private static long parse(String name, String suffix) {
        if (name.length() != HEX_DIGITS + suffix.length() || !name.endsWith(suffix)) {
            return -1;
        }
        long value = 0;
        for (int i = 0; i < HEX_DIGITS; i++) {
            int digit = Character.digit(name.charAt(i), 16);
            if (digit < 0 || Character.isUpperCase(name.charAt(i))) {
                return -1;
            }
            value = (value << 4) | digit;
        }
        return value < 0 ? -1 : value;
    }
}
