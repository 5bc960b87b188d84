package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.engine.proto.MoveCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.AddNodeRequest;
import io.flotilla.kv.proto.AddNodeResponse;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveReplicaResponse;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;

/**
 * Applies the meta range's records of where replicas go: a replica move that the meta range's
 * leader drives (see MoveDriver), the cluster's settings (draining nodes, the balancer's switch,
 * the down-after time, the snapshot rate limit), and the nodes added since bootstrap. At most one
 * move per range is recorded. A start is checked against what the meta range holds, here at apply
 * (so every replica decides the same): the range must be recorded (the meta range, which moves
 * too, by its own descriptor), the leaving node one of its replicas and the target not one. An
 * end removes the range's move only if it is the one it names, so a late end of an older move
 * cannot remove a newer one, and records the range's descriptor as the move left it (but the meta
 * range's own). Stateless; on the meta range's worker.
 */
final class PlacementRecords {
    private PlacementRecords() {
    }

    static WriteResult apply(MoveCommand command, long proposedAtMs, RangeDescriptor range, RoundWrites kv) {
        if (!MetaRange.isMeta(range)) {
            return WriteApplier.error(KvErrors.invalidArgument("range " + range.getRangeId() + " is not the meta range:"
                    + " only the meta range records moves; nothing was written"));
        }
        return switch (command.getChangeCase()) {
            case START -> start(command.getStart(), proposedAtMs, range, kv);
            case END -> end(command.getEnd(), command.hasRange() ? command.getRange() : null, kv);
            case CHANGE_NOT_SET -> WriteApplier.error(KvErrors.internal("a move command names neither start nor end;"
                    + " nothing was written"));
        };
    }

    /** {@code meta}: the meta range's own descriptor, which is not among the ones it records. */
    private static WriteResult start(MoveRecord move, long proposedAtMs, RangeDescriptor meta, RoundWrites kv) {
        ByteString key = MetaRange.moveKey(move.getRangeId());
        ByteString held = kv.get(key);
        MoveRecord current = held == null ? null : MetaRange.parseMove(held);
        if (current != null) {
            return answer(current, true);
        }
        RangeDescriptor target = meta;
        if (!MetaRange.isMeta(move.getRangeId())) {
            ByteString recorded = kv.get(MetaRange.key(move.getRangeId()));
            target = recorded == null ? null : MetaRange.parse(recorded);
        }
        String refusal = refusal(move, target);
        if (refusal != null) {
            return WriteApplier.error(KvErrors.invalidArgument(refusal));
        }
        MoveRecord started = move.toBuilder().setStartedAtMs(proposedAtMs).build();
        kv.put(key, started.toByteString());
        return answer(started, false);
    }

    /** Why the meta range cannot record {@code move} of {@code range} (null if not recorded), or null if it can. */
    static String refusal(MoveRecord move, RangeDescriptor range) {
        long id = move.getRangeId();
        if (range == null) {
            return "the meta range has no record of range " + id + ": list the ranges with `flotilla ranges`";
        }
        if (move.getFromNodeId() == move.getToNodeId()) {
            return "a move of range " + id + " needs two different nodes, not node " + move.getFromNodeId() + " twice";
        }
        if (!RouteTable.hasReplicaOn(range, move.getFromNodeId())) {
            return "node " + move.getFromNodeId() + " holds no replica of range " + id + " (its replicas: "
                    + nodes(range) + ")";
        }
        if (RouteTable.hasReplicaOn(range, move.getToNodeId())) {
            return "node " + move.getToNodeId() + " already holds a replica of range " + id + " (its replicas: "
                    + nodes(range) + ")";
        }
        return null;
    }

    private static WriteResult end(MoveRecord move, RangeDescriptor range, RoundWrites kv) {
        if (range != null && range.getRangeId() == move.getRangeId() && !MetaRange.isMeta(range)) {
            ByteString rangeKey = MetaRange.key(range.getRangeId());
            ByteString held = kv.get(rangeKey);
            RangeDescriptor current = held == null ? null : MetaRange.parse(held);
            if (current == null || RouteTable.compareVersions(range, current) > 0) {
                kv.put(rangeKey, range.toByteString());
            }
        }
        ByteString key = MetaRange.moveKey(move.getRangeId());
        ByteString recorded = kv.get(key);
        MoveRecord current = recorded == null ? null : MetaRange.parseMove(recorded);
        boolean same = current != null && current.getFromNodeId() == move.getFromNodeId()
                && current.getToNodeId() == move.getToNodeId() && current.getStartedAtMs() == move.getStartedAtMs();
        if (same) {
            kv.delete(key);
        }
        return answer(move, !same);
    }

    /** Applies a change of the cluster's settings (draining nodes, the balancer's switch); answers the new settings. */
    static WriteResult updateSettings(UpdateSettingsRequest update, RangeDescriptor range, RoundWrites kv) {
        if (!MetaRange.isMeta(range)) {
            return WriteApplier.error(KvErrors.invalidArgument("range " + range.getRangeId() + " is not the meta range:"
                    + " only the meta range records the cluster's settings; nothing was written"));
        }
        ClusterSettings current = MetaRange.parseSettings(kv.get(MetaRange.SETTINGS_KEY));
        java.util.TreeSet<Long> draining = new java.util.TreeSet<>(current.getDrainingNodeIdsList());
        if (update.getDrainNodeId() != 0) {
            draining.add(update.getDrainNodeId());
        }
        draining.remove(update.getUndrainNodeId());
        ClusterSettings.Builder next = ClusterSettings.newBuilder().addAllDrainingNodeIds(draining)
                .setBalancerOff(switch (update.getBalancer()) {
                    case BALANCER_ON -> false;
                    case BALANCER_OFF -> true;
                    default -> current.getBalancerOff();
                })
                .setDownAfterMs(update.getDownAfterMs() != 0 ? update.getDownAfterMs() : current.getDownAfterMs())
                .setSnapshotSendBytesPerSecond(update.hasSnapshotSendBytesPerSecond()
                        ? update.getSnapshotSendBytesPerSecond() : current.getSnapshotSendBytesPerSecond());
        ClusterSettings settings = next.build();
        kv.put(MetaRange.SETTINGS_KEY, settings.toByteString());
        return WriteResult.newBuilder().setSettings(settings).build();
    }

    /**
     * Records an added node's addresses; a node recorded already with the same addresses changes
     * nothing, one recorded with others is refused (a node's id is its identity).
     */
    static WriteResult addNode(AddNodeRequest add, RangeDescriptor range, RoundWrites kv) {
        if (!MetaRange.isMeta(range)) {
            return WriteApplier.error(KvErrors.invalidArgument("range " + range.getRangeId() + " is not the meta range:"
                    + " only the meta range records the cluster's nodes; nothing was written"));
        }
        NodeAddress node = add.getNode();
        ByteString key = MetaRange.memberKey(node.getNodeId());
        ByteString held = kv.get(key);
        if (held != null) {
            NodeAddress current = MetaRange.parseMember(held);
            if (node.equals(current)) {
                return WriteResult.newBuilder().setAddNode(AddNodeResponse.newBuilder().setAlreadyMember(true)).build();
            }
            return WriteApplier.error(KvErrors.invalidArgument("node " + node.getNodeId() + " is a member already, with"
                    + " other addresses (" + current + "): a node keeps its id and addresses"));
        }
        kv.put(key, node.toByteString());
        return WriteResult.newBuilder().setAddNode(AddNodeResponse.getDefaultInstance()).build();
    }

    private static WriteResult answer(MoveRecord move, boolean alreadyMoving) {
        return WriteResult.newBuilder().setMove(MoveReplicaResponse.newBuilder().setMove(move)
                .setAlreadyMoving(alreadyMoving)).build();
    }


    private static String nodes(RangeDescriptor range) {
        StringBuilder b = new StringBuilder();
        for (ReplicaDescriptor replica : range.getReplicasList()) {
            b.append(b.length() == 0 ? "" : ", ").append("node ").append(replica.getNodeId());
        }
        return b.toString();
    }
}
