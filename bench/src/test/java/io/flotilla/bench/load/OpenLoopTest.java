package io.flotilla.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Comparator;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

/**
 * The open loop's correction of coordinated omission, on a simulated clock (one thread, no sleeps):
 * a responder that answers in 1 ms stops answering for one second. Operations due during that second
 * cannot even be sent (the window is full), and each must count the time from when it was due.
 */
class OpenLoopTest {
    private static final long MS = TimeUnit.MILLISECONDS.toNanos(1);
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    /** Simulated time: parking runs the responses due by then, in time order. */
    static final class SimClock implements OpenLoop.Clock {
        private record Due(long atNs, long order, Runnable action) {
        }

        private final PriorityQueue<Due> due = new PriorityQueue<>(Comparator.comparingLong(Due::atNs)
                .thenComparingLong(Due::order));
        private long nowNs;
        private long scheduled;

        @Override
        public long nanoTime() {
            return nowNs;
        }

        @Override
        public void parkUntil(long deadlineNs) {
            while (!due.isEmpty() && due.peek().atNs() <= deadlineNs) {
                Due next = due.poll();
                nowNs = Math.max(nowNs, next.atNs());
                next.action().run();
            }
            nowNs = Math.max(nowNs, deadlineNs);
        }

        void at(long atNs, Runnable action) {
            due.add(new Due(atNs, scheduled++, action));
        }
    }

    /** Answers every operation {@code serviceNs} after it arrives, except that nothing is answered during the stall. */
    static final class StalledResponder implements LoadTarget {
        private final SimClock clock;
        private final long serviceNs;
        private final long stallStartNs;
        private final long stallEndNs;

        StalledResponder(SimClock clock, long serviceNs, long stallStartNs, long stallEndNs) {
            this.clock = clock;
            this.serviceNs = serviceNs;
            this.stallStartNs = stallStartNs;
            this.stallEndNs = stallEndNs;
        }

        @Override
        public CompletableFuture<Boolean> issue(OpKind kind, long key, long slot) {
            CompletableFuture<Boolean> answer = new CompletableFuture<>();
            long atNs = clock.nanoTime() + serviceNs;
            if (atNs >= stallStartNs && atNs < stallEndNs) {
                atNs = stallEndNs;
            }
            clock.at(atNs, () -> answer.complete(true));
            return answer;
        }
    }

    @Test
    void operationsHeldBackByAStallCountTheirWaitFromWhenTheyWereDue() {
        SimClock clock = new SimClock();
        LoadStats stats = new LoadStats();
        Workload puts = new Workload(new OpMix(0, 0, 0), KeyDistribution.of("uniform", 1_000));
        int ratePerSecond = 10_000;
        int window = 100;
        OpenLoop loop = new OpenLoop(clock, new StalledResponder(clock, MS, SECOND, 2 * SECOND), stats, puts,
                ratePerSecond, window, 1);

        loop.runUntil(0, 3 * SECOND);
        clock.parkUntil(4 * SECOND); // the last answers
        Histogram latency = stats.sample().get(OpKind.PUT);

        // Every operation due in the three seconds was sent and timed, the held-back ones included.
        assertThat(latency.getTotalCount()).isEqualTo(3L * ratePerSecond);
        assertThat(loop.inFlight()).isZero();
        // About 10,000 were due during the stall; each waited at least until the stall ended. Timed from
        // their sends, only the 100 in the window when it began would have been slow.
        long slow = latency.getTotalCount() - latency.getCountBetweenValues(0, 100 * MS);
        assertThat(slow).as("operations slower than 100 ms").isGreaterThan(9_000);
        // The first one due in the stall waited it all.
        assertThat(latency.getMaxValue()).isGreaterThan(990 * MS);
        // A fifth of all operations took at least 300 ms; most of the others the 1 ms of service.
        assertThat(latency.getValueAtPercentile(80)).isGreaterThan(300 * MS);
        assertThat(latency.getValueAtPercentile(50)).isLessThan(5 * MS);
    }

    @Test
    void atARateTheResponderKeepsUpWithLatencyIsTheServiceTime() {
        SimClock clock = new SimClock();
        LoadStats stats = new LoadStats();
        Workload puts = new Workload(new OpMix(0, 0, 0), KeyDistribution.of("uniform", 1_000));
        OpenLoop loop = new OpenLoop(clock, new StalledResponder(clock, 2 * MS, Long.MAX_VALUE, Long.MAX_VALUE), stats,
                puts, 1_000, 100, 1);

        loop.runUntil(0, SECOND);
        clock.parkUntil(2 * SECOND);
        Histogram latency = stats.sample().get(OpKind.PUT);

        assertThat(latency.getTotalCount()).isEqualTo(1_000);
        assertThat(latency.getMinValue()).isGreaterThanOrEqualTo(2 * MS - MS / 100);
        assertThat(latency.getMaxValue()).isLessThanOrEqualTo(2 * MS + MS / 100);
    }
}
