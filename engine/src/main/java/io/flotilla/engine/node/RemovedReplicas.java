package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Drops the replicas this node holds of ranges that removed it. A replica removed from its range
 * (the last step of a move) usually never applies its own removal: the leader stops sending to a
 * node once the change that removes it commits, and the entry's commit reaches the node only with
 * the next message. Such a replica would keep its column family and campaign in vain for ever. So
 * once a round, each hosted range whose descriptor in the meta range does not list this node, and
 * is newer (epoch, then conf version) than the one here or as new (the replica applied its own
 * removal), is destroyed: tombstoned in the log, then its state dropped. The meta range itself is
 * judged by the newest descriptor of it known ({@code KnownMetaRange}), which other replicas of it
 * tell. The meta range's record is written by the range's leader after the
 * removal applied, so the removal is committed; the range no longer needs this replica once the
 * other voters applied it too. Until they do they still count it as a voter, and if the leader
 * were lost for good meanwhile, a range of four voters going to three would need this replica's
 * vote to elect the next leader, who then applies the removal. The other voters learn the commit
 * with the leader's next message, so the replica is dropped only once it was seen removed in
 * {@link #ROUNDS_BEFORE_DROP} rounds in a row (seconds, not milliseconds, after the record).
 * A simulation calls {@link #round} with its own record of the ranges.
 */
public final class RemovedReplicas {
    private static final Logger LOG = LoggerFactory.getLogger(RemovedReplicas.class);

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private volatile long dropped;
    /** Rounds in a row a hosted range must be seen removed before its replica is dropped. */
    static final int ROUNDS_BEFORE_DROP = 3;
    /** Hosted ranges seen removed, with the rounds in a row they were. Owned by the caller's thread. */
    private final Map<Long, Integer> seenRemoved = new HashMap<>();
    /** Ranges whose replica this node was told to destroy (the destroy is asynchronous). Owned by the caller's thread. */
    private final Set<Long> destroying = new HashSet<>();

    public RemovedReplicas(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
    }

    /** Replicas dropped since start. */
    public long dropped() {
        return dropped;
    }

    /** Destroys the hosted replicas that {@code recorded} (descriptors by range id) shows removed; returns their ranges. */
    public List<Long> round(Map<Long, RangeDescriptor> recorded) {
        List<Long> droppedNow = new ArrayList<>();
        // A replica dropped for good may be hosted again later (a move brings the range back), and
        // removed again: only ranges whose drop is still on its way stay here.
        List<RangeDescriptor> hostedRanges = stateMachine.allRanges();
        Set<Long> stillHosted = new HashSet<>();
        for (RangeDescriptor hosted : hostedRanges) {
            stillHosted.add(hosted.getRangeId());
        }
        destroying.retainAll(stillHosted);
        Set<Long> removedNow = new HashSet<>();
        for (RangeDescriptor hosted : hostedRanges) {
            RangeDescriptor newer = recorded.get(hosted.getRangeId());
            if (newer == null || RouteTable.hasReplicaOn(newer, nodeId) || RouteTable.compareVersions(newer, hosted) < 0) {
                continue;
            }
            removedNow.add(hosted.getRangeId());
            if (seenRemoved.merge(hosted.getRangeId(), 1, Integer::sum) < ROUNDS_BEFORE_DROP) {
                continue;
            }
            if (!destroying.contains(hosted.getRangeId()) && runtime.destroyReplica(hosted.getRangeId())) {
                destroying.add(hosted.getRangeId());
                droppedNow.add(hosted.getRangeId());
                dropped++;
                LOG.info("node {}: range {} removed this node's replica (its replicas are now {}, conf version {}); the"
                        + " replica is dropped", nodeId, hosted.getRangeId(), newer.getReplicasList(),
                        newer.getConfVersion());
            }
        }
        seenRemoved.keySet().retainAll(removedNow);
        return droppedNow;
    }

}
