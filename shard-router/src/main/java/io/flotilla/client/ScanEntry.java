package io.flotilla.client;

/** One key and its value from a scan. Immutable, any thread. */
public record ScanEntry(byte[] key, byte[] value) {
}
