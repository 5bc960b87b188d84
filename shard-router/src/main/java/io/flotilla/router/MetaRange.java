package io.flotilla.router;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The meta range: the Raft group that records every range's descriptor, so that any node (and so
 * any client that knows one node) can find every range. It is not a range of user keys: no client
 * key routes to it, and it takes only {@code RecordRanges} and move records. Its keys are range ids (8 bytes,
 * big-endian) and its values the descriptors, each kept only if newer than the one it replaces
 * ({@link RouteTable#compareVersions}); after them the cluster's settings ({@link #SETTINGS_KEY}),
 * the nodes added since the cluster was made ({@link #MEMBERS_START}), then, under
 * {@link #MOVES_START}, the moves in progress, one per range. It starts on the first {@link #REPLICAS} nodes of the
 * cluster by id and moves like any range (by {@code flotilla move}, or off a drained node); its own
 * descriptor is not among those it records. Pure functions; any thread.
 */
public final class MetaRange {
    /** The meta range's id: the largest group id the runtime takes, far above any user range's. */
    public static final long ID = Long.MAX_VALUE - 1;
    /** How many nodes hold a replica of the meta range (fewer if the cluster has fewer nodes). */
    public static final int REPLICAS = 3;

    private MetaRange() {
    }

    public static boolean isMeta(long rangeId) {
        return rangeId == ID;
    }

    public static boolean isMeta(RangeDescriptor range) {
        return range.getRangeId() == ID;
    }

    /** The nodes that hold the meta range: the {@link #REPLICAS} lowest of the cluster's node ids. */
    public static long[] voters(long[] clusterNodeIds) {
        long[] sorted = clusterNodeIds.clone();
        Arrays.sort(sorted);
        return Arrays.copyOf(sorted, Math.min(REPLICAS, sorted.length));
    }

    /**
     * The meta range's descriptor when a cluster of {@code clusterNodeIds} is made: its replicas
     * are {@link #voters}, epoch 1, conf version 1. Its key interval is the whole key space only
     * because a descriptor needs one; nothing routes by it.
     */
    public static RangeDescriptor initialDescriptor(long[] clusterNodeIds) {
        RangeDescriptor.Builder meta = RangeDescriptor.newBuilder().setRangeId(ID).setEpoch(1).setConfVersion(1);
        for (long voter : voters(clusterNodeIds)) {
            meta.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(voter).setRole(ReplicaRole.VOTER));
        }
        return meta.build();
    }

    /** The meta range's key for range {@code rangeId}'s descriptor: the id, 8 bytes big-endian (so keys sort by id). */
    public static ByteString key(long rangeId) {
        return ByteString.copyFrom(ByteBuffer.allocate(Long.BYTES).putLong(rangeId).array());
    }

    /**
     * The meta range's key for the cluster's settings ({@code ClusterSettings}): above every
     * descriptor key (a range id is positive, so its first byte is below 0x80), so a scan of
     * descriptors stops here.
     */
    public static final ByteString SETTINGS_KEY = ByteString.copyFrom(new byte[] {(byte) 0xF0});

    /** The first byte of the meta range's keys for the nodes added after the cluster was made, after the settings. */
    public static final ByteString MEMBERS_START = ByteString.copyFrom(new byte[] {(byte) 0xF1});

    /** The meta range's key for added node {@code nodeId}'s addresses. */
    public static ByteString memberKey(long nodeId) {
        return MEMBERS_START.concat(key(nodeId));
    }

    /** Reads an added node's addresses stored in the meta range; null if the bytes are not one. */
    public static NodeAddress parseMember(ByteString value) {
        try {
            return NodeAddress.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    /** The first byte of the meta range's keys for moves in progress, after the members. */
    public static final ByteString MOVES_START = ByteString.copyFrom(new byte[] {(byte) 0xFF});

    /** The meta range's key for the move of range {@code rangeId} in progress: 0xFF, then the id (8 bytes, big-endian). */
    public static ByteString moveKey(long rangeId) {
        return MOVES_START.concat(key(rangeId));
    }

    /** Reads the settings stored in the meta range; the defaults if there are none or the bytes are not settings. */
    public static ClusterSettings parseSettings(ByteString value) {
        try {
            return value == null ? ClusterSettings.getDefaultInstance() : ClusterSettings.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            return ClusterSettings.getDefaultInstance();
        }
    }

    /** Reads a move stored in the meta range; null if the bytes are not one. */
    public static MoveRecord parseMove(ByteString value) {
        try {
            return MoveRecord.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }

    /** Reads a descriptor stored in the meta range; null if the bytes are not one. */
    public static RangeDescriptor parse(ByteString value) {
        try {
            return RangeDescriptor.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            return null;
        }
    }
}
