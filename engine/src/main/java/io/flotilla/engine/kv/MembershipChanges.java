package io.flotilla.engine.kv;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.raft.ConfChange;
import java.util.Map;
import java.util.TreeMap;

/**
 * Keeps a range's descriptor in step with its group's membership: a membership change applied from
 * the range's log changes the descriptor's replicas the way the Raft core changes its configuration
 * (the same rules, so the two never disagree) and bumps {@code conf_version}, which tells clients
 * and the meta range that the newer descriptor replaces the older one. Pure functions; any thread.
 */
final class MembershipChanges {
    private MembershipChanges() {
    }

    /**
     * {@code range} after {@code change}: its replicas changed as the Raft core changes its
     * configuration, one conf version on; {@code range} itself if the change changes nothing.
     */
    static RangeDescriptor apply(RangeDescriptor range, ConfChange change) {
        Map<Long, ReplicaRole> before = new TreeMap<>();
        for (ReplicaDescriptor r : range.getReplicasList()) {
            before.put(r.getNodeId(), r.getRole());
        }
        Map<Long, ReplicaRole> replicas = new TreeMap<>(before);
        long node = change.nodeId();
        switch (change.type()) {
            case ADD_VOTER, PROMOTE_LEARNER -> replicas.put(node, ReplicaRole.VOTER);
            case ADD_LEARNER -> replicas.putIfAbsent(node, ReplicaRole.LEARNER);
            case REMOVE_NODE -> {
                long voters = replicas.values().stream().filter(role -> role == ReplicaRole.VOTER).count();
                // The core never removes the last voter; neither does the descriptor.
                if (!(replicas.get(node) == ReplicaRole.VOTER && voters == 1)) {
                    replicas.remove(node);
                }
            }
        }
        if (replicas.equals(before)) {
            // A change that changes nothing (a new group's log starts by adding the voters it was made with).
            return range;
        }
        RangeDescriptor.Builder next = range.toBuilder().clearReplicas().setConfVersion(range.getConfVersion() + 1);
        replicas.forEach((id, role) -> next.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(id).setRole(role)));
        return next.build();
    }
}
