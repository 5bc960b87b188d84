package io.flotilla.engine.node;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.RangeSplitter;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.engine.service.RangeLoad;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import io.flotilla.router.KeyFormat;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Splits the ranges this node leads when they outgrow the {@link SplitPolicy}: by size (RocksDB's
 * estimate of a range's bytes past the limit: split at its middle key by size) and by load (at
 * least the policy's writes or reads per second, every second for the policy's number of seconds:
 * split at the median key of the range's sampled requests, so each side takes about half the
 * load). Only the leader decides, so a range is split once, and the node has at most one split of
 * its own in flight: a split blocks its range's worker while RocksDB exports and imports the
 * range, on every replica, and a burst of them (a range that grew by load and whose halves are
 * all busy) stalled every range for seconds. A split it cannot take (its key is a range boundary already, or the range
 * moved on) is simply not made. One thread, {@code flotilla-split-trigger-<node>}, waking once a
 * second; it reads the range's keys only to find a middle key, when a split by size is due.
 */
final class SplitTrigger implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SplitTrigger.class);
    static final long CHECK_INTERVAL_MS = 1_000;
    /** Sizes are checked every this many rounds: RocksDB's estimate needs no I/O, but moves slowly. */
    static final int SIZE_CHECK_EVERY = 5;

    private final long nodeId;
    private final SplitPolicy policy;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final RangeLoad load;
    private final LongSupplier newRangeIds;
    private final LongSupplier clockMs;
    /** Seconds in a row each range was busy enough (trigger thread only). */
    private final Map<Long, Integer> busySeconds = new HashMap<>();
    /** The range with a split of ours proposed and not yet answered (at most one). */
    private final Set<Long> splitting = ConcurrentHashMap.newKeySet();
    private final Thread thread;
    private volatile boolean stopped;
    private long rounds;

    SplitTrigger(long nodeId, SplitPolicy policy, MultiRaftNode runtime, KvStateMachine stateMachine, RangeLoad load,
            LongSupplier newRangeIds, LongSupplier clockMs) {
        this.nodeId = nodeId;
        this.policy = policy;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.load = load;
        this.newRangeIds = newRangeIds;
        this.clockMs = clockMs;
        this.thread = new Thread(this::run, "flotilla-split-trigger-" + nodeId);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        long lastNs = System.nanoTime();
        while (!stopped) {
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(CHECK_INTERVAL_MS));
            long now = System.nanoTime();
            double seconds = Math.max(1e-3, (now - lastNs) / 1e9);
            lastNs = now;
            try {
                check(seconds);
            } catch (RuntimeException e) {
                LOG.warn("node {}: the split check failed; it runs again in {} ms", nodeId, CHECK_INTERVAL_MS, e);
            }
        }
    }

    /** One round over the ranges this node holds; {@code seconds} since the last. */
    void check(double seconds) {
        boolean sizes = policy.sizeBytes() > 0 && rounds++ % SIZE_CHECK_EVERY == 0;
        for (RangeDescriptor range : stateMachine.ranges()) {
            long id = range.getRangeId();
            RangeLoad.Window window = load.take(id);
            GroupView view = runtime.groupView(id);
            if (view == null || !view.leading() || !splitting.isEmpty()) {
                busySeconds.remove(id);
                continue;
            }
            if (policy.loadOpsPerSecond() > 0) {
                boolean busy = window.writes() / seconds >= policy.loadOpsPerSecond()
                        || window.reads() / seconds >= policy.loadOpsPerSecond();
                int inARow = busy ? busySeconds.merge(id, 1, Integer::sum) : 0;
                if (!busy) {
                    busySeconds.remove(id);
                }
                if (inARow >= policy.loadSeconds()) {
                    busySeconds.remove(id);
                    propose(range, window.medianKey(), String.format("%.0f writes/s and %.0f reads/s for %d s",
                            window.writes() / seconds, window.reads() / seconds, inARow));
                    continue;
                }
            }
            if (sizes) {
                long bytes = stateMachine.approximateBytes(id);
                if (bytes >= policy.sizeBytes()) {
                    propose(range, stateMachine.middleKey(id), (bytes >> 20) + " MiB");
                }
            }
        }
    }

    /** Proposes a split of {@code range} at {@code key}, if that key can split it. */
    private void propose(RangeDescriptor range, ByteString key, String why) {
        long id = range.getRangeId();
        if (key == null || RangeSplitter.checkSplitKey(range, key) != null) {
            LOG.debug("node {}: range {} is due a split ({}) but has no key to split at", nodeId, id, why);
            return;
        }
        splitting.add(id);
        byte[] command = RangeSplitter.command(range.getEpoch(), key, newRangeIds.getAsLong(), clockMs.getAsLong())
                .toByteArray();
        LOG.info("node {}: splitting range {} {} at {}: {}", nodeId, id,
                KeyFormat.describeInterval(range.getStartKey(), range.getEndKey()), KeyFormat.describe(key), why);
        runtime.propose(id, command, new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                WriteResult result = stateMachine.takeResult(groupId, index);
                if (result != null && result.hasError()) {
                    LOG.info("node {}: range {} did not split: {}", nodeId, groupId, result.getError().getMessage());
                }
                splitting.remove(groupId);
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                splitting.remove(groupId);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                splitting.remove(groupId);
            }

            @Override
            public void onBusy(long groupId) {
                splitting.remove(groupId);
            }
        });
    }

    @Override
    public void close() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
