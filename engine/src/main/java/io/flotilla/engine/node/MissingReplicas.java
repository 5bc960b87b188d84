package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
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
 * is left alone; its leader keeps sending, so it is looked at again next round. A node runs the
 * rounds on a thread of its own ({@link #start}); a simulation calls {@link #round} on its clock,
 * with its own record of the ranges in place of the meta range.
 */
public final class MissingReplicas implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(MissingReplicas.class);
    static final long ROUND_MS = 1_000;
    /** Without a replica of the meta range here, how many rounds between reads of it to find removed replicas. */
    private static final int REMOTE_META_ROUNDS = 5;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private Thread thread;
    private volatile boolean stopped;
    private volatile long joined;

    public MissingReplicas(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
    }

    /**
     * Runs a round every {@link #ROUND_MS} on a thread of its own, reading the meta range from this
     * node's replica of it, or else through {@code client} from the replicas at {@code metaAddresses}
     * (client addresses, asked in turn).
     */
    void start(FlotillaClient client, List<String> metaAddresses, RemovedReplicas removed, JoiningReplicas joining) {
        MetaReader meta = new MetaReader(client, List.copyOf(metaAddresses));
        thread = new Thread(() -> run(meta, removed, joining), "flotilla-missing-replicas-" + nodeId);
        thread.setDaemon(true);
        thread.start();
    }

    /** Replicas joined since start. */
    public long joined() {
        return joined;
    }

    /**
     * The rounds, which also forget the joining replicas that hold state now ({@link JoiningReplicas})
     * and drop the replicas of ranges that removed this node ({@link RemovedReplicas}): every round
     * with a replica of the meta range here, else every {@link #REMOTE_META_ROUNDS}th.
     */
    private void run(MetaReader meta, RemovedReplicas removed, JoiningReplicas joining) {
        long rounds = 0;
        while (!stopped) {
            try {
                round(meta::recordedRanges);
                joining.forgetFilled();
                if (stateMachine.descriptor(MetaRange.ID) != null || rounds++ % REMOTE_META_ROUNDS == 0) {
                    removed.round(meta.recordedRanges());
                }
            } catch (RuntimeException e) {
                LOG.warn("node {}: looking for missing replicas failed; trying again in {} ms", nodeId, ROUND_MS, e);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(ROUND_MS));
        }
    }

    /**
     * One round: joins the ranges whose leaders sent this node their log since the last round, that
     * {@code recorded} (the meta range's descriptors by range id, asked only if there are such
     * ranges) lists this node in, and whose keys no range here holds. Returns the ranges it joined.
     */
    public List<Long> round(Supplier<Map<Long, RangeDescriptor>> recorded) {
        List<Long> strays = runtime.takeStrayGroups();
        strays.removeIf(id -> runtime.groupView(id) != null || stateMachine.descriptor(id) != null || MetaRange.isMeta(id));
        List<Long> joinedNow = new ArrayList<>();
        if (strays.isEmpty()) {
            return joinedNow;
        }
        Map<Long, RangeDescriptor> byId = recorded.get();
        for (long id : strays) {
            RangeDescriptor range = byId.get(id);
            if (range == null || !RouteTable.hasReplicaOn(range, nodeId)) {
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
                joinedNow.add(id);
                joined++;
                LOG.info("node {}: range {} lists this node as a replica but the node had none (it installed a snapshot"
                        + " taken after the split that made the range); joined the range's group empty, it catches up by"
                        + " snapshot", nodeId, id);
            }
        }
        return joinedNow;
    }

    /** What the meta range records, by range id: from this node's replica of it, else from one of its replicas. */
    private final class MetaReader {
        private final FlotillaClient client;
        private final List<String> addresses;
        private int next;

        MetaReader(FlotillaClient client, List<String> addresses) {
            this.client = client;
            this.addresses = addresses;
        }

        Map<Long, RangeDescriptor> recordedRanges() {
            Map<Long, RangeDescriptor> byId = new HashMap<>();
            List<RangeDescriptor> recorded;
            if (stateMachine.descriptor(MetaRange.ID) != null) {
                recorded = stateMachine.recordedRanges();
            } else if (addresses.isEmpty()) {
                return byId;
            } else {
                String address = addresses.get(Math.floorMod(next++, addresses.size()));
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
    }

    private boolean overlapsHostedRange(RangeDescriptor range) {
        for (RangeDescriptor hosted : stateMachine.ranges()) {
            if (RouteTable.overlaps(hosted, range)) {
                return true;
            }
        }
        return false;
    }


    @Override
    public void close() {
        stopped = true;
        if (thread == null) {
            return;
        }
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
