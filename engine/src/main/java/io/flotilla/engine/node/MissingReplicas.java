package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Joins the ranges this node should hold a replica of but does not. A split starts the new range's
 * replicas where the split is applied, so a replica that skipped the split — it installed a
 * snapshot of the split range taken after the split — never starts its replica of the new range,
 * and the new range runs one replica short. Its leader still sends this node its log and
 * heartbeats, which the runtime notes ({@link MultiRaftNode#takeStrayGroups}); once a round, each
 * such range that the meta range records with this node among its replicas, and whose keys no
 * range here holds any more (so this node will never apply the split itself), is joined empty: the
 * replica asks its leader for a snapshot and catches up from it. A range the meta range does not
 * list this node in (a removed replica whose leader has not heard yet, or a split not recorded yet)
 * is left alone; its leader keeps sending, so it is looked at again next round. One thread of its own.
 */
final class MissingReplicas implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MissingReplicas.class);
    static final long ROUND_MS = 1_000;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    /** The client addresses of the meta range's replicas, asked in turn when this node holds none. */
    private final List<String> metaAddresses;
    private final Thread thread;
    private volatile boolean stopped;
    private int nextMetaAddress;
    private volatile long joined;

    MissingReplicas(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine, FlotillaClient client,
            List<String> metaAddresses) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.client = client;
        this.metaAddresses = List.copyOf(metaAddresses);
        this.thread = new Thread(this::run, "flotilla-missing-replicas-" + nodeId);
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    /** Replicas joined since start. */
    long joined() {
        return joined;
    }

    private void run() {
        while (!stopped) {
            try {
                round();
            } catch (RuntimeException e) {
                LOG.warn("node {}: looking for missing replicas failed; trying again in {} ms", nodeId, ROUND_MS, e);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ROUND_MS));
        }
    }

    void round() {
        List<Long> strays = runtime.takeStrayGroups();
        strays.removeIf(id -> runtime.groupView(id) != null || stateMachine.descriptor(id) != null || MetaRange.isMeta(id));
        if (strays.isEmpty()) {
            return;
        }
        Map<Long, RangeDescriptor> recorded = recordedRanges();
        for (long id : strays) {
            RangeDescriptor range = recorded.get(id);
            if (range == null || !lists(range, nodeId)) {
                LOG.debug("node {}: range {} sends this node its log, but the meta range does not list it there ({}); left"
                        + " alone", nodeId, id, range == null ? "not recorded" : range.getReplicasList());
                continue;
            }
            if (overlapsHostedRange(range)) {
                // A range here still holds those keys: it has yet to apply the split, which starts the
                // new range's replica itself (joining now would race the split making the same state).
                continue;
            }
            if (runtime.createGroup(id)) {
                joined++;
                LOG.info("node {}: range {} lists this node as a replica but the node had none (it installed a snapshot"
                        + " taken after the split that made the range); joined the range's group empty, it catches up by"
                        + " snapshot", nodeId, id);
            }
        }
    }

    /** What the meta range records, by range id: from this node's replica of it, else from one of its replicas. */
    private Map<Long, RangeDescriptor> recordedRanges() {
        Map<Long, RangeDescriptor> byId = new HashMap<>();
        List<RangeDescriptor> recorded;
        if (stateMachine.descriptor(MetaRange.ID) != null) {
            recorded = stateMachine.recordedRanges();
        } else if (metaAddresses.isEmpty()) {
            return byId;
        } else {
            String address = metaAddresses.get(Math.floorMod(nextMetaAddress++, metaAddresses.size()));
            try {
                recorded = client.routeLookup(address).get(10, TimeUnit.SECONDS).getRangesList();
            } catch (ExecutionException | TimeoutException e) {
                LOG.debug("node {}: route lookup at {} failed", nodeId, address, e);
                return byId;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return byId;
            }
        }
        for (RangeDescriptor range : recorded) {
            byId.put(range.getRangeId(), range);
        }
        return byId;
    }

    private boolean overlapsHostedRange(RangeDescriptor range) {
        for (RangeDescriptor hosted : stateMachine.ranges()) {
            if (RouteTable.overlaps(hosted, range)) {
                return true;
            }
        }
        return false;
    }

    private static boolean lists(RangeDescriptor range, long nodeId) {
        for (ReplicaDescriptor replica : range.getReplicasList()) {
            if (replica.getNodeId() == nodeId) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        stopped = true;
        thread.interrupt();
        if (thread.isAlive()) {
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
