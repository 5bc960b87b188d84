package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
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
 * rounds in its {@link MetaRounds}; a simulation calls {@link #round} on its clock, with its own
 * record of the ranges in place of the meta range.
 */
public final class MissingReplicas {
    private static final Logger LOG = LoggerFactory.getLogger(MissingReplicas.class);

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private volatile long joined;
    /** Ranges listing this node as a voter without a replica here, as the last {@link #joinListed} saw them. */
    private Set<Long> listedBefore = Set.of();
    /** Ranges {@link #joinListed} tried to join (once each). */
    private final Set<Long> tried = new HashSet<>();

    public MissingReplicas(long nodeId, MultiRaftNode runtime, KvStateMachine stateMachine) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
    }

    /** Replicas joined since start. */
    public long joined() {
        return joined;
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

    /**
     * Joins, empty, the ranges {@code recorded} lists this node as a voter of in this round and the
     * one before, that it holds no replica of and whose keys no range here holds. The stray path
     * above needs the range's leader to send this node something; a new range whose voters are
     * mostly such nodes has no leader to send it (a split while its range moved, on a node that
     * skipped the split by a snapshot: two of four voters hosted the new range, the KV simulation's
     * seed 1267). An empty voter that never held the range may vote, so the range can elect and
     * the leader sends it the snapshot. A removed replica's tombstone makes the runtime refuse the
     * join; each range is tried once. Returns the ranges it joined.
     */
    public List<Long> joinListed(Map<Long, RangeDescriptor> recorded) {
        List<Long> joinedNow = new ArrayList<>();
        Set<Long> listedNow = new HashSet<>();
        for (RangeDescriptor range : recorded.values()) {
            long id = range.getRangeId();
            if (MetaRange.isMeta(range) || !isVoterHere(range) || runtime.groupView(id) != null
                    || stateMachine.descriptor(id) != null || overlapsHostedRange(range)) {
                continue;
            }
            listedNow.add(id);
            if (!listedBefore.contains(id) || !tried.add(id)) {
                continue;
            }
            if (runtime.createGroup(id)) {
                joinedNow.add(id);
                joined++;
                LOG.info("node {}: range {} lists this node as a voter but the node has no replica and heard nothing"
                        + " from it; joined its group empty, it catches up by snapshot", nodeId, id);
            }
        }
        listedBefore = listedNow;
        return joinedNow;
    }

    private boolean isVoterHere(RangeDescriptor range) {
        for (ReplicaDescriptor r : range.getReplicasList()) {
            if (r.getNodeId() == nodeId && r.getRole() == ReplicaRole.VOTER) {
                return true;
            }
        }
        return false;
    }

    private boolean overlapsHostedRange(RangeDescriptor range) {
        for (RangeDescriptor hosted : stateMachine.ranges()) {
            if (RouteTable.overlaps(hosted, range)) {
                return true;
            }
        }
        return false;
    }
}
