package io.flotilla.engine.node;

import io.flotilla.router.BalancePlan;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What each range weighs, for the balancer: its bytes and its writes per second, from its leader's
 * status reports (once a balancer round). The write rate is the growth of the leader's commit
 * index between two reports (every write is one entry; the rare membership change or empty entry
 * counts as one too), smoothed so that one busy second does not move a range: each new rate
 * counts for {@link #SMOOTHING} of the figure. A range no leader reported for
 * {@link #FORGET_AFTER_MS} is forgotten. Reports arrive on the client's threads; {@link #weights}
 * on the balancer's.
 */
final class RangeWeights {
    static final double SMOOTHING = 0.25;
    static final long FORGET_AFTER_MS = 30_000;

    private record Seen(long commitIndex, long atMs, long bytes, double writesPerSecond, boolean rated) {
    }

    private final Map<Long, Seen> ranges = new ConcurrentHashMap<>();

    /** Range {@code rangeId}'s leader reported this at {@code nowMs}. */
    void observe(long rangeId, long commitIndex, long bytes, long nowMs) {
        ranges.compute(rangeId, (id, last) -> {
            if (last == null || nowMs <= last.atMs() || commitIndex < last.commitIndex()) {
                // First report, a report out of order, or a new leader behind the last one: start over from here.
                return new Seen(commitIndex, nowMs, bytes, last == null ? 0 : last.writesPerSecond(),
                        last != null && last.rated());
            }
            double rate = (commitIndex - last.commitIndex()) * 1000.0 / (nowMs - last.atMs());
            double smoothed = last.rated() ? last.writesPerSecond() + SMOOTHING * (rate - last.writesPerSecond()) : rate;
            return new Seen(commitIndex, nowMs, bytes, smoothed, true);
        });
    }

    /** Each range's weight as last reported, by range id; ranges not reported lately are left out. */
    Map<Long, BalancePlan.Weight> weights(long nowMs) {
        ranges.values().removeIf(s -> nowMs - s.atMs() > FORGET_AFTER_MS);
        Map<Long, BalancePlan.Weight> weights = new HashMap<>();
        ranges.forEach((id, s) -> weights.put(id, new BalancePlan.Weight(s.bytes(), s.writesPerSecond())));
        return weights;
    }
}
