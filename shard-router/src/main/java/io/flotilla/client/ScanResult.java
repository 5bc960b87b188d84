package io.flotilla.client;

import java.util.List;

/**
 * One page of a scan within one range, in key order. {@code continuation} is the start key of the
 * next page (the rest of this range, or the start of the next range when the scanned interval goes
 * beyond this one), or null when the interval has been read to its end. Immutable, any thread.
 */
public record ScanResult(List<ScanEntry> entries, byte[] continuation) {
    public ScanResult {
        entries = List.copyOf(entries);
    }

    /** Whether keys may remain in the scanned interval: call scan again from {@link #continuation}. */
    public boolean hasMore() {
        return continuation != null;
    }
}
