package io.flotilla.bench.load;

import io.flotilla.tools.Table;
import java.time.Instant;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * What one measured run of the load generator saw, and how it is printed. Immutable once built
 * (the histograms are not modified after the run); built and read by the reporting thread.
 *
 * @param latencyNs     per operation kind, every completed operation's latency in nanoseconds
 * @param opsBySecond   completed operations in each second of the measured run
 * @param seconds       how long the measured run lasted
 * @param noMatch       per kind, operations that found nothing: gets and scans of absent keys,
 *                      compare-and-sets whose expected value was not there
 * @param errorsByType  failed operations by the client's exception type
 * @param nodes         what each node spent during the run, from its own counters
 * @param measuredFrom  when the measured seconds began (wall clock, to find them in the nodes' flight recordings)
 * @param measuredTo    when they ended
 */
record LoadResult(Map<OpKind, Histogram> latencyNs, List<Long> opsBySecond, double seconds, Map<OpKind, Long> noMatch,
        Map<String, Long> errorsByType, List<NodeCost.Delta> nodes, Instant measuredFrom, Instant measuredTo) {

    Histogram all() {
        return LoadStats.combined(latencyNs);
    }

    long ops() {
        return all().getTotalCount();
    }

    double opsPerSecond() {
        return seconds > 0 ? ops() / seconds : 0;
    }

    long errors() {
        return errorsByType.values().stream().mapToLong(Long::longValue).sum();
    }

    /** The curves of the plot: each kind that ran, then all of them together. */
    Map<String, Histogram> curves() {
        Map<String, Histogram> curves = new java.util.LinkedHashMap<>();
        latencyNs.forEach((kind, h) -> {
            if (h.getTotalCount() > 0) {
                curves.put(kind.label, h);
            }
        });
        if (curves.size() > 1) {
            curves.put("all", all());
        }
        return curves;
    }

    /** One row per operation kind that ran, and one for all: counts, rate, latency percentiles in ms. */
    String latencyTable() {
        Table t = new Table("op", "ops", "ops/s", "p50 ms", "p99 ms", "p99.9 ms", "max ms", "no match");
        Map<OpKind, Histogram> ran = new EnumMap<>(OpKind.class);
        latencyNs.forEach((kind, h) -> {
            if (h.getTotalCount() > 0) {
                ran.put(kind, h);
            }
        });
        long noMatchAll = 0;
        for (Map.Entry<OpKind, Histogram> e : ran.entrySet()) {
            long n = noMatch.getOrDefault(e.getKey(), 0L);
            noMatchAll += n;
            row(t, e.getKey().label, e.getValue(), Long.toString(n));
        }
        if (ran.size() != 1) {
            row(t, "all", all(), Long.toString(noMatchAll));
        }
        return t.render();
    }

    private void row(Table t, String name, Histogram h, String noMatchCell) {
        t.row(name, Long.toString(h.getTotalCount()), String.format("%,.0f", seconds > 0 ? h.getTotalCount() / seconds : 0),
                ms(h, 50), ms(h, 99), ms(h, 99.9), ms(h.getTotalCount() == 0 ? 0 : h.getMaxValue()), noMatchCell);
    }

    /** Failures by exception type, or a line saying there were none. */
    String errorTable() {
        if (errorsByType.isEmpty()) {
            return "errors: none\n";
        }
        Table t = new Table("error", "count");
        errorsByType.forEach((type, n) -> t.row(type, Long.toString(n)));
        return t.render();
    }

    /** The last line of the output, in a fixed form that scripts read. */
    String lastLine() {
        Histogram all = all();
        return String.format(Locale.ROOT, "bench: %d ops/s, p50 %s ms, p99 %s ms, %d errors", Math.round(opsPerSecond()),
                ms(all, 50), ms(all, 99), errors());
    }

    static String ms(Histogram h, double percentile) {
        return ms(h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile));
    }

    static String ms(long ns) {
        return String.format(Locale.ROOT, "%.3f", ns / 1e6);
    }
}
