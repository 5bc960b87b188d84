package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Where a request goes: the cached range descriptors ({@link RouteTable}), the leader last seen for
 * each range, a replica to try next when no leader is known, and the client address of each node.
 * Holds what the nodes said and decides nothing about retries. Not thread-safe: owned by the
 * client's I/O thread.
 */
final class RangeLocator {
    private static final System.Logger LOG = System.getLogger(RangeLocator.class.getName());

    private final RouteTable routes = new RouteTable();
    /** The meta range (which records every range's descriptor) as last described by a node; null until then. */
    private RangeDescriptor metaRange;
    private final Map<Long, Long> leaderByRange = new HashMap<>();
    /** Which replica of a range to try when its leader is unknown; starts at random so clients spread out. */
    private final Map<Long, Integer> replicaCursor = new HashMap<>();
    private final Map<Long, HostPort> addressByNode = new HashMap<>();
    /** Seeds first, then every node address learned, in the order learned. */
    private final LinkedHashSet<HostPort> routeSources;
    private final SplittableRandom random;
    private int nextRouteSource;

    RangeLocator(List<HostPort> seeds, SplittableRandom random) {
        this.routeSources = new LinkedHashSet<>(seeds);
        this.random = random;
    }

    /**
     * The cached descriptor of the range holding {@code key} (null: of the meta range, which no key
     * routes to), or null if a route lookup is needed.
     */
    RangeDescriptor route(ByteString key) {
        return key == null ? metaRange : routes.lookup(key);
    }

    /**
     * The node to send a request for {@code range} to: its known leader, unless the request may be
     * served by a follower, else the replica at the range's cursor. Zero when the range has no replicas.
     * A leader named by a hint is followed even if the cached descriptor does not list it: the hint
     * is newer news (a membership change the descriptor has not caught up with); if it is wrong, that
     * node's answer clears it.
     */
    long target(RangeDescriptor range, ReadConsistency consistency) {
        if (consistency != ReadConsistency.FOLLOWER) {
            Long leader = leaderByRange.get(range.getRangeId());
            if (leader != null) {
                return leader;
            }
        }
        List<ReplicaDescriptor> candidates = new ArrayList<>(range.getReplicasCount());
        for (ReplicaDescriptor replica : range.getReplicasList()) {
            if (consistency == ReadConsistency.FOLLOWER || replica.getRole() != ReplicaRole.LEARNER) {
                candidates.add(replica);
            }
        }
        if (candidates.isEmpty()) {
            return 0;
        }
        int cursor = replicaCursor.computeIfAbsent(range.getRangeId(), id -> random.nextInt(1 << 16));
        return candidates.get(Math.floorMod(cursor, candidates.size())).getNodeId();
    }

    /** The client address of {@code nodeId}, or null if no node has named it yet. */
    HostPort address(long nodeId) {
        return addressByNode.get(nodeId);
    }

    /** A node said {@code leaderNodeId} leads {@code rangeId}, and maybe where it listens. */
    void learnLeader(long rangeId, long leaderNodeId, NodeAddress address) {
        leaderByRange.put(rangeId, leaderNodeId);
        if (address != null) {
            learnNode(address);
        }
    }

    /** {@code nodeId} could not serve {@code rangeId} (no leader, unreachable, silent): try another replica next. */
    void replicaFailed(long rangeId, long nodeId) {
        Long leader = leaderByRange.get(rangeId);
        if (leader != null && leader == nodeId) {
            leaderByRange.remove(rangeId);
        }
        replicaCursor.merge(rangeId, 1, Integer::sum);
    }

    /**
     * {@code nodeId} does not host the range the request was routed by: forget that descriptor
     * unless a newer one was learned since, so the next request looks the range up again.
     */
    void rangeNotFound(RangeDescriptor routedBy, long nodeId) {
        replicaFailed(routedBy.getRangeId(), nodeId);
        if (MetaRange.isMeta(routedBy)) {
            if (metaRange != null && RouteTable.compareVersions(metaRange, routedBy) <= 0) {
                metaRange = null;
            }
        } else {
            routes.evict(routedBy);
        }
    }

    /**
     * Caches the descriptors a node sent; returns whether the route of {@code key} differs from
     * {@code routedBy} now (another range, another version, or none), that is, whether they taught
     * the client something that changes where the request goes.
     */
    boolean adopt(Collection<RangeDescriptor> descriptors, RangeDescriptor routedBy, ByteString key) {
        adopt(descriptors);
        RangeDescriptor now = route(key);
        return now == null || now.getRangeId() != routedBy.getRangeId() || RouteTable.compareVersions(now, routedBy) != 0;
    }

    /** Caches the descriptors a node sent, each unless a newer overlapping one is cached. */
    void adopt(Collection<RangeDescriptor> descriptors) {
        for (RangeDescriptor descriptor : descriptors) {
            if (MetaRange.isMeta(descriptor)) {
                learnMetaRange(descriptor);
                continue;
            }
            try {
                routes.update(descriptor);
            } catch (IllegalArgumentException e) {
                LOG.log(System.Logger.Level.WARNING, "ignoring a malformed range descriptor from a node: {0}", e.getMessage());
            }
        }
    }

    /** A node described the meta range: kept unless the one known is newer. */
    void learnMetaRange(RangeDescriptor meta) {
        if (metaRange == null || RouteTable.compareVersions(meta, metaRange) > 0) {
            metaRange = meta;
        }
    }

    void learnNodes(Collection<NodeAddress> nodes) {
        for (NodeAddress node : nodes) {
            learnNode(node);
        }
    }

    private void learnNode(NodeAddress node) {
        if (node.getNodeId() == 0 || node.getHost().isEmpty() || node.getClientPort() == 0 || node.getClientPort() > 65_535) {
            return;
        }
        HostPort address = new HostPort(node.getHost(), node.getClientPort());
        addressByNode.put(node.getNodeId(), address);
        routeSources.add(address);
    }

    /**
     * The node to ask for routes next. Every other lookup goes to a replica of the meta range (in
     * turn), which knows every range; the others to the seeds and learned nodes in turn, so that
     * lookups go on when the meta range's replicas are down or not yet known.
     */
    HostPort nextRouteSource() {
        int turn = nextRouteSource++;
        if (turn % 2 == 0 && metaRange != null) {
            List<HostPort> metaHosts = new ArrayList<>();
            for (ReplicaDescriptor replica : metaRange.getReplicasList()) {
                HostPort address = addressByNode.get(replica.getNodeId());
                if (address != null) {
                    metaHosts.add(address);
                }
            }
            if (!metaHosts.isEmpty()) {
                return metaHosts.get(Math.floorMod(turn / 2, metaHosts.size()));
            }
        }
        List<HostPort> sources = new ArrayList<>(routeSources);
        return sources.get(Math.floorMod(turn, sources.size()));
    }

    int cachedRanges() {
        return routes.size();
    }
}
