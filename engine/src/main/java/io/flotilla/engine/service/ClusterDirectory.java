package io.flotilla.engine.service;

import io.flotilla.kv.proto.NodeAddress;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The addresses of the cluster's nodes, by node id: what a NotLeader hint and a route lookup tell a
 * client, and where the balancer finds the nodes. It starts with the nodes the node was configured
 * with and grows as nodes are added ({@link #add}); a node is never removed. Any thread.
 */
public final class ClusterDirectory {
    private final Map<Long, NodeAddress> nodes = new ConcurrentSkipListMap<>();

    public ClusterDirectory(Map<Long, NodeAddress> nodes) {
        this.nodes.putAll(nodes);
    }

    /** Adds node {@code node.node_id}; false if it is known already (its addresses are kept). */
    public boolean add(NodeAddress node) {
        return nodes.putIfAbsent(node.getNodeId(), node) == null;
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
        return Collections.unmodifiableCollection(nodes.values());
    }
}
