package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.KeySpace;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides which ranges a starting node hosts and creates their groups. A state machine with ranges
 * (a restart) keeps them: each gets its group back and the runtime replays its log from the state
 * machine's applied index. A state machine without ranges gets the initial ranges — the key space
 * tiled evenly into {@code initialRanges} ranges on every initial node ({@link KeySpace#tile}), the
 * same on every node, so the groups agree without talking — and bootstraps them at index 0; the
 * runtime then bootstraps each group's log, or recovers it if the log already has it (a state
 * machine that keeps nothing across restarts, such as the in-memory stand-in, takes this path on
 * every start and is rebuilt from the log). Groups the log holds that no range names any more are
 * destroyed, so their records do not hold log segments for ever. Runs once, on the starting thread.
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
            List<Long> recoveredGroups, boolean newDirectory, Map<Long, Long> appliedAtStart) {
        List<RangeDescriptor> ranges = stateMachine.ranges();
        if (ranges.isEmpty()) {
            List<RangeDescriptor> initial = KeySpace.tile(config.initialRanges(), 1, config.memberIds());
            if (newDirectory) {
                LOG.info("node {}: new data directory; bootstrapping {} ranges on nodes {}", config.nodeId(), initial.size(),
                        config.initialCluster().keySet());
            } else {
                LOG.info("node {}: the state machine holds no ranges; re-creating the {} initial ranges (the log replays"
                        + " their writes)", config.nodeId(), initial.size());
            }
            stateMachine.bootstrap(initial);
            ranges = stateMachine.ranges();
        }
        Set<Long> hosted = new HashSet<>();
        for (RangeDescriptor range : ranges) {
            hosted.add(range.getRangeId());
            appliedAtStart.put(range.getRangeId(), stateMachine.appliedIndex(range.getRangeId()));
            if (!runtime.createGroup(range.getRangeId(), voters(range))) {
                throw new IllegalStateException("node " + config.nodeId() + " stopped while creating range "
                        + range.getRangeId() + ": " + runtime.failure());
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
        return ranges;
    }

    static long[] voters(RangeDescriptor range) {
        return range.getReplicasList().stream()
                .filter(r -> r.getRole() == ReplicaRole.VOTER)
                .mapToLong(ReplicaDescriptor::getNodeId)
                .toArray();
    }
}
