package io.flotilla.router;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Where a new cluster's ranges start: each range on {@link #REPLICAS} of the nodes (all of them in a
 * cluster of three or fewer), the i-th range on the nodes from the i-th on in id order, so that
 * every node holds about as many ranges as any other. Every node computes the same placement
 * from the same cluster, so the groups agree without talking. Pure; any thread.
 */
public final class Placement {
    /** Replicas per range. */
    public static final int REPLICAS = 3;

    private Placement() {
    }

    /** {@link KeySpace#tile} into {@code count} ranges from id 1, each placed on {@link #REPLICAS} of {@code nodeIds}. */
    public static List<RangeDescriptor> initialRanges(int count, long... nodeIds) {
        long[] nodes = nodeIds.clone();
        Arrays.sort(nodes);
        int replicas = Math.min(REPLICAS, nodes.length);
        List<RangeDescriptor> ranges = new ArrayList<>(count);
        List<RangeDescriptor> tiled = KeySpace.tile(count, 1);
        for (int i = 0; i < tiled.size(); i++) {
            RangeDescriptor.Builder range = tiled.get(i).toBuilder();
            for (int k = 0; k < replicas; k++) {
                range.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(nodes[(i + k) % nodes.length])
                        .setRole(ReplicaRole.VOTER));
            }
            ranges.add(range.build());
        }
        return ranges;
    }
}
