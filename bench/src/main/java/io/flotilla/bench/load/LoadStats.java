package io.flotilla.bench.load;

import java.util.EnumMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.LongAdder;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * What the load generator observed: a latency {@link Recorder} per operation kind (nanoseconds,
 * 3 significant digits), operations that found nothing to match, and failures by the client's
 * exception type. Written by any thread that completes operations (the client's I/O threads, the
 * open loop's sender); {@link #sample} and {@link #startMeasuring} by the reporting thread.
 */
final class LoadStats {
    private final Map<OpKind, Recorder> latencyNs = new EnumMap<>(OpKind.class);
    private final Map<OpKind, LongAdder> noMatch = new EnumMap<>(OpKind.class);
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();

    LoadStats() {
        for (OpKind kind : OpKind.values()) {
            latencyNs.put(kind, new Recorder(3));
            noMatch.put(kind, new LongAdder());
        }
    }

    /** An operation that completed {@code latencyNs} after it started (or, in an open loop, was meant to start). */
    void completed(OpKind kind, long latencyNs, boolean matched) {
        this.latencyNs.get(kind).recordValue(Math.max(1, latencyNs));
        if (!matched) {
            noMatch.get(kind).increment();
        }
    }

    /** An operation that ended: {@link #completed} if {@code failure} is null, else {@link #failed}. */
    void ended(OpKind kind, long latencyNs, Boolean matched, Throwable failure) {
        if (failure == null) {
            completed(kind, latencyNs, matched);
        } else {
            failed(failure);
        }
    }

    /** An operation that failed: counted by the type of the client's exception, not timed. */
    void failed(Throwable failure) {
        errors.computeIfAbsent(errorType(failure), k -> new LongAdder()).increment();
    }

    static String errorType(Throwable failure) {
        Throwable t = failure;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName();
    }

    /** Drops what the warm-up recorded: from now on everything counts. */
    void startMeasuring() {
        sample();
        noMatch.values().forEach(LongAdder::reset);
        errors.clear();
    }

    /** The latencies recorded since the last sample, per operation kind (kinds never issued have empty histograms). */
    Map<OpKind, Histogram> sample() {
        Map<OpKind, Histogram> interval = new EnumMap<>(OpKind.class);
        for (OpKind kind : OpKind.values()) {
            interval.put(kind, latencyNs.get(kind).getIntervalHistogram());
        }
        return interval;
    }

    long noMatch(OpKind kind) {
        return noMatch.get(kind).sum();
    }

    /** Failures since measuring started, by exception type, in name order. */
    Map<String, Long> errorsByType() {
        Map<String, Long> byType = new TreeMap<>();
        errors.forEach((type, n) -> byType.put(type, n.sum()));
        return byType;
    }

    long errorCount() {
        long n = 0;
        for (LongAdder a : errors.values()) {
            n += a.sum();
        }
        return n;
    }

    /** All kinds of one sample together. */
    static Histogram combined(Map<OpKind, Histogram> sample) {
        Histogram all = new Histogram(3);
        long start = Long.MAX_VALUE;
        long end = 0;
        for (Histogram h : sample.values()) {
            all.add(h);
            start = Math.min(start, h.getStartTimeStamp());
            end = Math.max(end, h.getEndTimeStamp());
        }
        all.setStartTimeStamp(start == Long.MAX_VALUE ? 0 : start);
        all.setEndTimeStamp(end);
        return all;
    }
}
