package io.flotilla.bench.load;

import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The closed loop: {@code inflight} chains of operations, each sending its next operation when its
 * last one completes, so exactly {@code inflight} are outstanding. Latency is measured from each
 * operation's send; a closed loop sends less while the cluster is slow, so its percentiles
 * understate what clients arriving at a fixed rate would see ({@link OpenLoop} measures that).
 * {@link #start} runs on the caller's thread; each chain then continues on the thread that
 * completes its operation (the client's I/O thread). Each chain owns its random generator.
 */
final class ClosedLoop implements LoadDriver {
    /** After a failure a chain pauses this long, so that a cluster refusing at once is not met by a tight loop. */
    private static final long FAILURE_PAUSE_MS = 1;

    private final LoadTarget target;
    private final LoadStats stats;
    private final Workload workload;
    private final int inflight;
    private final long seed;
    private final AtomicInteger outstanding = new AtomicInteger();
    private final Executor afterFailure = CompletableFuture.delayedExecutor(FAILURE_PAUSE_MS, TimeUnit.MILLISECONDS);
    private final CountDownLatch chainsEnded;
    private volatile boolean stopping;

    ClosedLoop(LoadTarget target, LoadStats stats, Workload workload, int inflight, long seed) {
        if (inflight < 1) {
            throw new IllegalArgumentException("--inflight must be at least 1, not " + inflight);
        }
        this.target = target;
        this.stats = stats;
        this.workload = workload;
        this.inflight = inflight;
        this.seed = seed;
        this.chainsEnded = new CountDownLatch(inflight);
    }

    @Override
    public void start() {
        SplittableRandom seeds = new SplittableRandom(seed);
        for (int c = 0; c < inflight; c++) {
            next(c, seeds.split());
        }
    }

    private void next(int chain, SplittableRandom random) {
        if (stopping) {
            chainsEnded.countDown();
            return;
        }
        OpKind kind = workload.nextKind(random);
        long key = workload.nextKey(random);
        outstanding.incrementAndGet();
        long startNs = System.nanoTime();
        target.start(kind, key, chain).whenComplete((matched, failure) -> {
            stats.ended(kind, System.nanoTime() - startNs, matched, failure);
            outstanding.decrementAndGet();
            if (failure == null) {
                next(chain, random);
            } else {
                afterFailure.execute(() -> next(chain, random));
            }
        });
    }

    @Override
    public int inFlight() {
        return outstanding.get();
    }

    @Override
    public String progressNote() {
        return "";
    }

    @Override
    public boolean stop(long timeoutMs) throws InterruptedException {
        stopping = true;
        return chainsEnded.await(timeoutMs, TimeUnit.MILLISECONDS);
    }
}
