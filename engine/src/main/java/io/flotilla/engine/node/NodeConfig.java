package io.flotilla.engine.node;

import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.multiraft.MultiRaftConfig;
import io.flotilla.transport.TransportConfig;
import io.flotilla.transport.snapshot.SnapshotConfig;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Everything a node process is started with, and the settings of its parts derived from it (the
 * runtime's, the transport's, the snapshot channel's, the directory of client addresses).
 * Immutable and validated, so any thread may read it; built by {@link FlotillaNodeMain} from flags
 * and a config file, or directly by tests.
 *
 * @param nodeId               this node's id; must be one of {@code initialCluster}
 * @param clusterId            the cluster's id (> 0): checked in every peer handshake and client request
 * @param dataDir              this node's data directory (log, state, snapshots, lock and identity files)
 * @param peerListen           where the Raft peer transport listens
 * @param snapshotListen       where the snapshot channel listens
 * @param clientListen         where the client service listens (port 0: any free port)
 * @param initialCluster       every node of the cluster at bootstrap, by id
 * @param initialRanges        ranges a new cluster is cut into, tiling the key space evenly
 * @param workers              Raft worker threads
 * @param clientIoThreads      Netty event-loop threads of the client service
 * @param maxClientFrameBytes  largest client frame accepted (length prefix excluded); larger closes the connection
 * @param defaultTimeoutMs     deadline of a request that does not carry one
 * @param shutdownHandoffMs    how long a graceful shutdown spends handing leaderships to other nodes
 * @param tickIntervalMs       one Raft tick
 * @param electionTimeoutTicks election timeout, in ticks
 * @param join                 a new data directory joins the existing cluster (its old replicas are
 *                             replaced by new ones) instead of bootstrapping a new one; ignored once
 *                             the directory exists
 * @param splitPolicy          when the node splits the ranges it leads on its own
 * @param metricsListen        where the node serves Prometheus metrics over HTTP ({@code /metrics});
 *                             null: not served
 */
public record NodeConfig(long nodeId, long clusterId, Path dataDir, InetSocketAddress peerListen,
        InetSocketAddress snapshotListen, InetSocketAddress clientListen, Map<Long, ClusterMember> initialCluster,
        int initialRanges, int workers, int clientIoThreads, int maxClientFrameBytes, int defaultTimeoutMs,
        int shutdownHandoffMs, int tickIntervalMs, int electionTimeoutTicks, boolean join, SplitPolicy splitPolicy,
        InetSocketAddress metricsListen) {
    public static final int DEFAULT_INITIAL_RANGES = 64;
    public static final int DEFAULT_MAX_CLIENT_FRAME_BYTES = 32 << 20;
    public static final int DEFAULT_TIMEOUT_MS = 5_000;
    public static final int DEFAULT_SHUTDOWN_HANDOFF_MS = 3_000;
    public static final int DEFAULT_TICK_INTERVAL_MS = 10;
    /**
     * One second, as etcd's default. 200 ms (the runtime benchmark's setting) made leaders step down
     * under load on two cores shared by three nodes and a load generator: a follower busy compiling
     * or applying answered heartbeats late, CheckQuorum fired, and leaderships drifted onto one node
     * (measured: 1 / 650,686 / 92,800 requests served per node in one run).
     */
    public static final int DEFAULT_ELECTION_TIMEOUT_TICKS = 100;

    public NodeConfig {
        require(nodeId > 0, "--node-id must be positive, was " + nodeId);
        require(clusterId > 0, "--cluster-id must be positive, was " + clusterId);
        require(dataDir != null, "--data-dir is required");
        require(peerListen != null && snapshotListen != null && clientListen != null, "listen addresses are required");
        require(initialCluster != null && !initialCluster.isEmpty(), "--initial-cluster is required");
        initialCluster = Collections.unmodifiableMap(new TreeMap<>(initialCluster));
        for (Map.Entry<Long, ClusterMember> e : initialCluster.entrySet()) {
            require(e.getKey() == e.getValue().nodeId(), "--initial-cluster lists node " + e.getValue().nodeId()
                    + " under id " + e.getKey());
        }
        require(initialCluster.containsKey(nodeId), "--initial-cluster " + initialCluster.values()
                + " does not list this node's id " + nodeId);
        require(initialRanges >= 1 && initialRanges <= 65_536, "--initial-ranges must be in [1, 65536], was " + initialRanges);
        require(workers >= 1 && workers <= 256, "--workers must be in [1, 256], was " + workers);
        require(clientIoThreads >= 1 && clientIoThreads <= 64, "--client-io-threads must be in [1, 64], was " + clientIoThreads);
        require(maxClientFrameBytes >= 1024 && maxClientFrameBytes <= (1 << 30),
                "--max-client-frame-bytes must be in [1024, 2^30], was " + maxClientFrameBytes);
        require(defaultTimeoutMs >= 10, "--default-timeout-ms must be at least 10, was " + defaultTimeoutMs);
        require(shutdownHandoffMs >= 0, "--shutdown-handoff-ms must not be negative, was " + shutdownHandoffMs);
        require(tickIntervalMs >= 1, "--tick-interval-ms must be positive, was " + tickIntervalMs);
        require(splitPolicy != null, "a split policy is required");
        require(electionTimeoutTicks >= 3, "--election-timeout-ticks must be at least 3, was " + electionTimeoutTicks);
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException(message);
        }
    }

    /**
     * A node of {@code initialCluster} with every default: it listens where the initial cluster says
     * it is reached (the peer, snapshot and client addresses of its own entry).
     */
    public static NodeConfig of(long nodeId, long clusterId, Path dataDir, Map<Long, ClusterMember> initialCluster) {
        ClusterMember self = initialCluster.get(nodeId);
        require(self != null, "--initial-cluster " + initialCluster.values() + " does not list this node's id " + nodeId);
        return new NodeConfig(nodeId, clusterId, dataDir, self.peerAddress(), self.snapshotAddress(), self.clientAddress(),
                initialCluster, DEFAULT_INITIAL_RANGES, Runtime.getRuntime().availableProcessors(), 1,
                DEFAULT_MAX_CLIENT_FRAME_BYTES, DEFAULT_TIMEOUT_MS, DEFAULT_SHUTDOWN_HANDOFF_MS, DEFAULT_TICK_INTERVAL_MS,
                DEFAULT_ELECTION_TIMEOUT_TICKS, false, SplitPolicy.defaults(), null);
    }

    /** Parses {@code 1=host:7001:7002:7101,2=...} (see {@link ClusterMember#parse}); ids must be distinct. */
    public static Map<Long, ClusterMember> parseCluster(String text) {
        Map<Long, ClusterMember> members = new TreeMap<>();
        for (String part : text.split(",")) {
            if (part.isBlank()) {
                continue;
            }
            ClusterMember m = ClusterMember.parse(part.trim());
            if (members.put(m.nodeId(), m) != null) {
                throw new IllegalArgumentException("--initial-cluster lists node " + m.nodeId() + " twice");
            }
        }
        return members;
    }

    public ClusterMember self() {
        return initialCluster.get(nodeId);
    }

    /** The ids of every initial node, ascending. */
    public long[] memberIds() {
        return initialCluster.keySet().stream().mapToLong(Long::longValue).toArray();
    }

    /** The other nodes of the initial cluster. */
    public List<ClusterMember> peers() {
        List<ClusterMember> peers = new ArrayList<>();
        for (ClusterMember m : initialCluster.values()) {
            if (m.nodeId() != nodeId) {
                peers.add(m);
            }
        }
        return peers;
    }

    /** The runtime's settings: this node's workers, ticks and election timeout, heartbeats at a sixth of it. */
    public MultiRaftConfig runtimeConfig() {
        MultiRaftConfig d = MultiRaftConfig.defaults(nodeId);
        return new MultiRaftConfig(nodeId, workers, tickIntervalMs, electionTimeoutTicks,
                Math.max(1, electionTimeoutTicks / 6), d.inboxCapacity(), d.maxGroupsPerWorker(), d.logRetainEntries());
    }

    /** The peer transport's settings: listen on {@link #peerListen}, dial every other initial node. */
    public TransportConfig transportConfig() {
        Map<Long, InetSocketAddress> peerAddresses = new HashMap<>();
        for (ClusterMember peer : peers()) {
            peerAddresses.put(peer.nodeId(), peer.peerAddress());
        }
        TransportConfig d = TransportConfig.of(clusterId, nodeId, 0);
        return new TransportConfig(clusterId, nodeId, peerListen, peerAddresses, d.maxFrameBytes(), d.protocolVersion(),
                d.reconnectBackoffMinMs(), d.reconnectBackoffMaxMs(), d.ioThreads(), d.writeBufferHighWaterMarkBytes(),
                d.handshakeTimeoutMs(), d.connectTimeoutMs());
    }

    /** The snapshot channel's settings: listen on {@link #snapshotListen}, default limits. */
    public SnapshotConfig snapshotConfig() {
        SnapshotConfig d = SnapshotConfig.of(clusterId, nodeId, 0);
        return new SnapshotConfig(d.clusterId(), d.nodeId(), snapshotListen, d.protocolVersion(), d.chunkBytes(),
                d.windowBytes(), d.maxFrameBytes(), d.maxConcurrentSends(), d.maxConcurrentReceives(), d.maxQueuedSends(),
                d.retryBackoffMinMs(), d.retryBackoffMaxMs(), d.maxAttempts(), d.handshakeTimeoutMs(), d.idleTimeoutMs(),
                d.connectTimeoutMs(), d.writeBufferHighWaterMarkBytes(), d.maxImageBytes(), d.maxReceivedBytes());
    }

    /** The client addresses of the initial nodes (what NotLeader hints and route lookups name). */
    public ClusterDirectory clusterDirectory() {
        Map<Long, NodeAddress> nodes = new HashMap<>();
        for (ClusterMember m : initialCluster.values()) {
            nodes.put(m.nodeId(), NodeAddress.newBuilder().setNodeId(m.nodeId()).setHost(m.host())
                    .setClientPort(m.clientPort()).setPeerPort(m.peerAddress().getPort())
                    .setSnapshotPort(m.snapshotAddress().getPort()).build());
        }
        return new ClusterDirectory(nodes);
    }

    public NodeConfig withInitialRanges(int ranges) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, clientListen, initialCluster, ranges,
                workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs, tickIntervalMs,
                electionTimeoutTicks, join, splitPolicy, metricsListen);
    }

    public NodeConfig withWorkers(int count) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, clientListen, initialCluster,
                initialRanges, count, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, join, splitPolicy, metricsListen);
    }

    public NodeConfig withClientListen(InetSocketAddress address) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, address, initialCluster,
                initialRanges, workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, join, splitPolicy, metricsListen);
    }

    /** This config, serving Prometheus metrics at {@code address} (port 0: any free port). */
    public NodeConfig withMetricsListen(InetSocketAddress address) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, clientListen, initialCluster,
                initialRanges, workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, join, splitPolicy, address);
    }

    public NodeConfig withSplitPolicy(SplitPolicy policy) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, clientListen, initialCluster,
                initialRanges, workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, join, policy, metricsListen);
    }

    public NodeConfig withJoin(boolean joining) {
        return new NodeConfig(nodeId, clusterId, dataDir, peerListen, snapshotListen, clientListen, initialCluster,
                initialRanges, workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, joining, splitPolicy, metricsListen);
    }

    public NodeConfig withClusterId(long id) {
        return new NodeConfig(nodeId, id, dataDir, peerListen, snapshotListen, clientListen, initialCluster,
                initialRanges, workers, clientIoThreads, maxClientFrameBytes, defaultTimeoutMs, shutdownHandoffMs,
                tickIntervalMs, electionTimeoutTicks, join, splitPolicy, metricsListen);
    }
}
