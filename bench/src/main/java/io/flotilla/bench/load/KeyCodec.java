package io.flotilla.bench.load;

/**
 * The bytes of key number {@code i} of {@code keys}: two leading bytes that place it in the key
 * space in order ({@code i * 65536 / keys}: a new cluster's ranges tile the key space by its first
 * two bytes, so the keys spread evenly over every range), then {@code i} big-endian, zero-padded to
 * {@code keySize} bytes. Keys are distinct and in the order of their numbers. Immutable, any thread.
 * Public for {@code ClientBenchmark}.
 */
public final class KeyCodec {
    private final long keys;
    private final int keySize;

    public KeyCodec(long keys, int keySize) {
        int indexBytes = Math.max(1, (64 - Long.numberOfLeadingZeros(Math.max(1, keys - 1)) + 7) / 8);
        if (keySize < 2 + indexBytes || keySize > 64 * 1024) {
            throw new IllegalArgumentException("--key-size " + keySize + " cannot hold " + keys + " distinct keys: use "
                    + (2 + indexBytes) + " to 65536 bytes (2 bytes place a key among the ranges, " + indexBytes
                    + " number it)");
        }
        this.keys = keys;
        this.keySize = keySize;
    }

    public byte[] key(long i) {
        byte[] key = new byte[keySize];
        int place = (int) (i * 65_536.0 / keys);
        key[0] = (byte) (place >>> 8);
        key[1] = (byte) place;
        long n = i;
        for (int b = keySize - 1; b >= 2 && n != 0; b--) {
            key[b] = (byte) n;
            n >>>= 8;
        }
        return key;
    }
}
