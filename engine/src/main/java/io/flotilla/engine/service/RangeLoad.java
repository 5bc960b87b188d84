package io.flotilla.engine.service;

import com.google.protobuf.ByteString;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.atomic.LongAdder;

/**
 * Requests per range since the split trigger last looked, and a sample of their keys: what a split
 * by load needs (how busy a range is, and the key that halves its load). Recorded on the client
 * service's event loops for every request that reaches a range, taken by the split trigger's
 * thread. Cheap on the request path: one map lookup and one counter add, and for one request in
 * {@link #SAMPLE_EVERY} one write of a random sample slot, so the slots hold keys drawn evenly
 * from the window (the newest ones win a slot as often as the oldest).
 */
public final class RangeLoad {
    static final int SAMPLE_SLOTS = 64;
    static final int SAMPLE_EVERY = 8;

    /** What a range saw in one window: its writes, its reads and the sampled keys, sorted. */
    public record Window(long writes, long reads, List<ByteString> keys) {
        /** The sampled key in the middle, or null if none was sampled. */
        public ByteString medianKey() {
            return keys.isEmpty() ? null : keys.get(keys.size() / 2);
        }
    }

    private static final class Counter {
        final LongAdder writes = new LongAdder();
        final LongAdder reads = new LongAdder();
        final AtomicReferenceArray<ByteString> sample = new AtomicReferenceArray<>(SAMPLE_SLOTS);
    }

    private final ConcurrentHashMap<Long, Counter> ranges = new ConcurrentHashMap<>();

    /** One request of {@code rangeId} for {@code key} (null: a request without one). Any thread. */
    public void record(long rangeId, ByteString key, boolean write) {
        Counter c = ranges.computeIfAbsent(rangeId, id -> new Counter());
        (write ? c.writes : c.reads).increment();
        if (key != null) {
            int r = ThreadLocalRandom.current().nextInt();
            if ((r & (SAMPLE_EVERY - 1)) == 0) {
                c.sample.set((r >>> 16) % SAMPLE_SLOTS, key);
            }
        }
    }

    /** The range's window since the last take, and a new one begins. Any thread. */
    public Window take(long rangeId) {
        Counter c = ranges.get(rangeId);
        if (c == null) {
            return new Window(0, 0, List.of());
        }
        List<ByteString> keys = new ArrayList<>();
        for (int i = 0; i < SAMPLE_SLOTS; i++) {
            ByteString k = c.sample.getAndSet(i, null);
            if (k != null) {
                keys.add(k);
            }
        }
        keys.sort(ByteString.unsignedLexicographicalComparator());
        return new Window(c.writes.sumThenReset(), c.reads.sumThenReset(), keys);
    }

    /** Stops counting a range (it went away from this node). */
    public void forget(long rangeId) {
        ranges.remove(rangeId);
    }
}
