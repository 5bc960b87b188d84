package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps the meta range up to date with the ranges this node leads: once a round (and at once after
 * a split this node applied as the split range's leader), every led range whose descriptor differs
 * from the one this node last had recorded is sent to the meta range ({@code RecordRanges}, through
 * a {@link FlotillaClient} seeded with the cluster's nodes, which finds the meta range's leader).
 *
 * <p>Recording is eventual and needs no coordination: the meta range keeps a descriptor only if it
 * is newer than the one it holds, so two nodes that both think they lead, a retry, or a record that
 * arrives after a newer one, change nothing. What this node recorded is remembered only while it
 * runs; after a restart it records what it leads once more (the meta range keeps none of it twice).
 * A node that crashes between a split and its record loses nothing either: the range's next
 * leader records the split's descriptors, and until then lookups merge in the descriptors the
 * answering node hosts, and a request routed by the old descriptor gets EpochMismatch carrying the
 * new ones. One thread of its own; {@link #splitApplied} from a worker.
 */
final class MetaRecorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MetaRecorder.class);
    /** How often the led ranges are compared with what was recorded. */
    static final long ROUND_MS = 1_000;
    /** Descriptors per record (one Raft entry in the meta range). */
    static final int BATCH = 256;
    private static final long WARN_EVERY_MS = 30_000;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    /** What the meta range acknowledged from this node, by range id. Owned by the thread. */
    private final Map<Long, RangeDescriptor> recorded = new HashMap<>();
    /** Both sides of splits this node led, to record before the next round's scan would find them. */
    private final Map<Long, RangeDescriptor> fromSplits = new LinkedHashMap<>();
    private final RoundLoop loop;
    private long lastWarnNs;

    /** A recorder for node {@code nodeId} that reaches the meta range through {@code client}; {@link #start} it. */
    MetaRecorder(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine, FlotillaClient client) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.client = client;
        this.loop = new RoundLoop("flotilla-meta-recorder-" + nodeId, ROUND_MS, () -> record(due()),
                e -> warn("recording ranges in the meta range failed", e));
    }

    /** Starts the rounds; call once the node serves clients. */
    void start() {
        loop.start();
    }

    /**
     * A split this node applied: if it leads the split range, both sides are recorded at once
     * (the new range's own leader, maybe elsewhere, would record it within a round too).
     */
    void splitApplied(RangeDescriptor left, RangeDescriptor right) {
        GroupView view = runtime.groupView(left.getRangeId());
        if (view == null || !view.leading()) {
            return;
        }
        synchronized (fromSplits) {
            fromSplits.put(left.getRangeId(), left);
            fromSplits.put(right.getRangeId(), right);
        }
        loop.wake();
    }

    /** The descriptors to record now: split sides first, then every led range that changed since its last record. */
    private List<RangeDescriptor> due() {
        Map<Long, RangeDescriptor> due = new LinkedHashMap<>();
        synchronized (fromSplits) {
            due.putAll(fromSplits);
            fromSplits.clear();
        }
        for (RangeDescriptor range : stateMachine.ranges()) {
            GroupView view = runtime.groupView(range.getRangeId());
            RangeDescriptor last = recorded.get(range.getRangeId());
            if (view != null && view.leading() && (last == null || RouteTable.compareVersions(range, last) != 0)) {
                due.putIfAbsent(range.getRangeId(), range);
            }
        }
        due.values().removeIf(d -> {
            RangeDescriptor last = recorded.get(d.getRangeId());
            return last != null && RouteTable.compareVersions(d, last) <= 0;
        });
        return new ArrayList<>(due.values());
    }

    private void record(List<RangeDescriptor> due) {
        for (int from = 0; from < due.size() && !loop.stopped(); from += BATCH) {
            List<RangeDescriptor> batch = due.subList(from, Math.min(due.size(), from + BATCH));
            try {
                int kept = client.recordRanges(batch).get(10, TimeUnit.SECONDS);
                for (RangeDescriptor d : batch) {
                    recorded.put(d.getRangeId(), d);
                }
                LOG.debug("node {}: recorded {} range descriptors in the meta range ({} newer than held)", nodeId,
                        batch.size(), kept);
            } catch (ExecutionException | TimeoutException e) {
                // The meta range has no leader yet, or it is out of reach: the next round sends them again.
                warn("could not record " + due.size() + " range descriptors in the meta range; trying again in "
                        + ROUND_MS + " ms", e instanceof ExecutionException ? e.getCause() : e);
                return;
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    private void warn(String what, Throwable cause) {
        long now = System.nanoTime();
        if (lastWarnNs == 0 || now - lastWarnNs > TimeUnit.MILLISECONDS.toNanos(WARN_EVERY_MS)) {
            lastWarnNs = now;
            LOG.warn("node {}: {}: {}", nodeId, what, String.valueOf(cause));
        } else {
            LOG.debug("node {}: {}", nodeId, what, cause);
        }
    }

    /** Stops the thread; any thread but its own. */
    @Override
    public void close() {
        loop.close();
    }
}
