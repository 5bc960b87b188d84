package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.RouteSource;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalWriterStats;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * Answers RouteLookup (from the meta range, where this node holds a replica of it, and the ranges
 * this node hosts) and NodeStatus (ranges, leaders, each range's Raft position, and the process's
 * counters). Reads only thread-safe views (the state machine's descriptors, the runtime's
 * {@link GroupView}s and counters); called on a connection's event loop.
 *
 * <p>Process figures (CPU time, threads) are the JVM's: in a test that runs several nodes in one
 * JVM they cover all of them.
 */
final class StatusService {
    private final long nodeId;
    private final long clusterId;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final Wal wal;
    private final ClusterDirectory directory;
    private final LongSupplier requestsServed;
    private final BooleanSupplier rejoining;
    private final KnownMetaRange knownMeta;
    private final long startedAtNs = System.nanoTime();

    StatusService(long nodeId, long clusterId, MultiRaftNode runtime, KvStateMachine stateMachine, Wal wal,
            ClusterDirectory directory, KnownMetaRange knownMeta, LongSupplier requestsServed, BooleanSupplier rejoining) {
        this.nodeId = nodeId;
        this.clusterId = clusterId;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.wal = wal;
        this.directory = directory;
        this.requestsServed = requestsServed;
        this.rejoining = rejoining;
        this.knownMeta = knownMeta;
    }

    /**
     * The ranges overlapping the lookup's interval. A replica of the meta range answers with every
     * descriptor the meta range has recorded, as far as it has applied them (the answer says whether
     * it leads the meta range), merged with the descriptors of the ranges this node hosts (newer
     * wins: a split applied here may not be recorded yet). A node without a replica answers with the
     * ranges it hosts. Either way the answer names every node and the meta range's replicas (the
     * newest this node knows of: the meta range moves too), so a client that knows one node finds
     * the rest.
     */
    Response.Builder routeLookup(RouteLookupRequest lookup) {
        RouteTable table = new RouteTable();
        RangeDescriptor meta = stateMachine.descriptor(MetaRange.ID);
        RouteSource source = RouteSource.HOSTED_ONLY;
        if (meta != null) {
            GroupView view = runtime.groupView(MetaRange.ID);
            source = view != null && view.leading() ? RouteSource.META_LEADER : RouteSource.META_FOLLOWER;
            adopt(table, stateMachine.recordedRanges());
        } else {
            meta = knownMeta.get();
        }
        adopt(table, stateMachine.ranges());
        RouteLookupResponse.Builder b = RouteLookupResponse.newBuilder().setMetaRange(meta).setSource(source)
                .addAllNodes(directory.all());
        if (source != RouteSource.HOSTED_ONLY) {
            b.setSettings(stateMachine.recordedSettings());
        }
        for (RangeDescriptor range : table.descriptors()) {
            if (overlaps(range, lookup)) {
                b.addRanges(range);
            }
        }
        return Response.newBuilder().setRouteLookup(b);
    }

    private static void adopt(RouteTable table, List<RangeDescriptor> ranges) {
        for (RangeDescriptor range : ranges) {
            if (!MetaRange.isMeta(range)) {
                try {
                    table.update(range);
                } catch (IllegalArgumentException malformed) {
                    // Only a bug records a malformed descriptor; the others still route.
                }
            }
        }
    }

    /** Whether {@code range} overlaps the lookup's {@code [start_key, end_key)} (an empty end: no bound). */
    private static boolean overlaps(RangeDescriptor range, RouteLookupRequest lookup) {
        boolean startsBeforeLookupEnds = lookup.getEndKey().isEmpty()
                || KeySpace.compare(range.getStartKey(), lookup.getEndKey()) < 0;
        boolean endsAfterLookupStarts = range.getEndKey().isEmpty()
                || KeySpace.compare(range.getEndKey(), lookup.getStartKey()) > 0;
        return startsBeforeLookupEnds && endsAfterLookupStarts;
    }

    /** This node's user ranges (counted in {@code ranges}) and, listed with them, its replica of the meta range. */
    Response.Builder nodeStatus() {
        List<RangeDescriptor> ranges = stateMachine.ranges();
        List<RangeDescriptor> listed = stateMachine.allRanges();
        NodeStatusResponse.Builder b = NodeStatusResponse.newBuilder()
                .setNodeId(nodeId)
                .setClusterId(clusterId)
                .setRanges(ranges.size())
                .setMetaReplica(stateMachine.descriptor(MetaRange.ID) != null)
                .setLeaders(runtime.leaderGroups());
        for (RangeDescriptor range : listed) {
            RangeStatus.Builder s = RangeStatus.newBuilder().setRange(range)
                    .setApproximateBytes(stateMachine.approximateBytes(range.getRangeId()));
            GroupView view = runtime.groupView(range.getRangeId());
            if (view != null) {
                s.setLeader(view.leading()).setLeaderNodeId(view.leaderNodeId()).setTerm(view.term())
                        .setCommitIndex(view.commitIndex()).setAppliedIndex(view.appliedIndex());
            }
            b.addRangeStatus(s);
        }
        WalWriterStats log = wal.stats();
        return Response.newBuilder().setNodeStatus(b
                .setProcessCpuNs(processCpuNs())
                .setLogBatches(log.forces())
                .setLogEntries(log.entries())
                .setRequestsServed(requestsServed.getAsLong())
                .setPeerSends(runtime.peerSends())
                .setPeerMessagesSent(runtime.peerMessagesSent())
                .setThreads(ManagementFactory.getThreadMXBean().getThreadCount())
                .setSnapshotsInstalled(runtime.snapshotsInstalled())
                .setRejoining(rejoining.getAsBoolean())
                .setUptimeMs(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAtNs)));
    }

    private static long processCpuNs() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) {
            return Math.max(0, sun.getProcessCpuTime());
        }
        return 0;
    }
}
