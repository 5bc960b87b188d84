package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.Placement;
import io.flotilla.router.MetaRange;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.LongPredicate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which ranges a starting node hosts and creates their groups. A state machine with ranges
 * (a restart) keeps them: each gets its group back and the runtime replays its log from the state
 * machine's applied index. A state machine without ranges gets the initial ranges — the key space
 * tiled evenly into {@code initialRanges} ranges, each on three of the initial nodes ({@link Placement}), the
 * same on every node, so the groups agree without talking, plus the empty meta range on the first
 * three nodes ({@link MetaRange}) — and bootstraps them at index 0; the
 * runtime then bootstraps each group's log, or recovers it if the log already has it (a state
 * machine that keeps nothing across restarts, such as the in-memory stand-in, takes this path on
 * every start and is rebuilt from the log). Groups the log holds that no range names any more are
 * destroyed, so their records do not hold log segments for ever — except the empty replicas this
 * node started as a move's target ({@link JoiningReplicas}), which are hosted again. Runs once, on the starting thread.
 */
final class RangeBootstrap {
    private static final Logger LOG = LoggerFactory.getLogger(RangeBootstrap.class);

    private RangeBootstrap() {
    }

    /**
     * Returns the ranges the node hosts; their groups are created (the runtime's inboxes hold them).
     * Fills {@code appliedAtStart} with each range's applied index before its group existed (read
     * here, before any worker touches the group).
     */
    static List<RangeDescriptor> createGroups(NodeConfig config, KvStateMachine stateMachine, MultiRaftNode runtime,
            List<Long> recoveredGroups, LongPredicate tombstoned, Set<Long> joining, boolean newDirectory,
            Map<Long, Long> appliedAtStart) {
        List<RangeDescriptor> ranges = stateMachine.allRanges();
        if (ranges.isEmpty()) {
            List<RangeDescriptor> initial = new ArrayList<>(Placement.initialRanges(config.initialRanges(), config.memberIds()));
            initial.add(MetaRange.initialDescriptor(config.memberIds()));
            // Not those whose replicas were removed from here (tombstoned in the log): a node whose
            // every replica moved away (decommissioned) hosts nothing.
            initial.removeIf(range -> !hosts(range, config.nodeId()) || tombstoned.test(range.getRangeId()));
            if (newDirectory) {
                LOG.info("node {}: new data directory; bootstrapping {} ranges on nodes {}", config.nodeId(), initial.size(),
                        config.initialCluster().keySet());
            } else if (initial.isEmpty()) {
                LOG.info("node {}: holds no ranges: its replicas moved to other nodes (a decommissioned node can be"
                        + " stopped for good)", config.nodeId());
            } else {
                LOG.info("node {}: the state machine holds no ranges; re-creating the {} initial ranges (the log replays"
                        + " their writes)", config.nodeId(), initial.size());
            }
            stateMachine.bootstrap(initial);
            ranges = stateMachine.allRanges();
        }
        create(config, stateMachine, runtime, ranges, recoveredGroups, joining, appliedAtStart);
        return ranges;
    }

    /**
     * For a node rejoining its cluster ({@code --join}): hosts every range of {@code clusterRanges}
     * (as the other nodes report them) that lists this node. A range whose state this node holds
     * already (its new replica installed a snapshot before a restart) restarts as usual; the others
     * join their group empty and ask its leader for a snapshot (see {@link Rejoin}).
     */
    static List<RangeDescriptor> createRejoiningGroups(NodeConfig config, KvStateMachine stateMachine,
            MultiRaftNode runtime, List<RangeDescriptor> clusterRanges, List<Long> recoveredGroups, Set<Long> joining,
            Map<Long, Long> appliedAtStart) {
        List<RangeDescriptor> ranges = new ArrayList<>();
        for (RangeDescriptor range : clusterRanges) {
            if (hosts(range, config.nodeId())) {
                ranges.add(range);
            }
        }
        create(config, stateMachine, runtime, ranges, recoveredGroups, joining, appliedAtStart);
        return ranges;
    }

    private static void create(NodeConfig config, KvStateMachine stateMachine, MultiRaftNode runtime,
            List<RangeDescriptor> ranges, List<Long> recoveredGroups, Set<Long> joining, Map<Long, Long> appliedAtStart) {
        Set<Long> hosted = new HashSet<>();
        for (RangeDescriptor range : ranges) {
            long id = range.getRangeId();
            hosted.add(id);
            appliedAtStart.put(id, stateMachine.appliedIndex(id));
            // No state: no voters either, so the replica joins the group empty instead of bootstrapping it.
            long[] voters = stateMachine.descriptor(id) == null ? new long[0] : voters(range);
            if (!runtime.createGroup(id, voters)) {
                throw new IllegalStateException("node " + config.nodeId() + " stopped while creating range " + id + ": "
                        + runtime.failure());
            }
        }
        // Empty replicas started as a move's target: hosted again (their leader resumes the snapshot).
        for (long groupId : joining) {
            if (hosted.add(groupId) && !runtime.createGroup(groupId)) {
                throw new IllegalStateException("node " + config.nodeId() + " stopped while creating range " + groupId
                        + ": " + runtime.failure());
            }
        }
        int orphans = 0;
        for (long groupId : recoveredGroups) {
            if (!hosted.contains(groupId)) {
                runtime.destroyReplica(groupId);
                orphans++;
            }
        }
        if (orphans > 0) {
            LOG.info("node {}: {} groups in the log belong to no range here; their replicas are destroyed", config.nodeId(),
                    orphans);
        }
    }

    private static boolean hosts(RangeDescriptor range, long nodeId) {
        return range.getReplicasList().stream().anyMatch(r -> r.getNodeId() == nodeId);
    }

    static long[] voters(RangeDescriptor range) {
        return range.getReplicasList().stream()
                .filter(r -> r.getRole() == ReplicaRole.VOTER)
                .mapToLong(ReplicaDescriptor::getNodeId)
                .toArray();
    }
}
