package io.flotilla.engine.service;

import io.flotilla.kv.proto.NodeAddress;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The client addresses of the cluster's nodes, by node id: what a NotLeader hint and a route lookup
 * tell a client. Immutable; any thread.
 */
public final class ClusterDirectory {
    private final Map<Long, NodeAddress> nodes;

    public ClusterDirectory(Map<Long, NodeAddress> nodes) {
        this.nodes = Collections.unmodifiableMap(new TreeMap<>(nodes));
    }

    /** The client address of {@code nodeId}, or null if it is unknown (or 0). */
    public NodeAddress address(long nodeId) {
        return nodes.get(nodeId);
    }

    /** The ids of every node, ascending. */
    public long[] nodeIds() {
        return nodes.keySet().stream().mapToLong(Long::longValue).toArray();
    }

    public Collection<NodeAddress> all() {
        return nodes.values();
    }
}
