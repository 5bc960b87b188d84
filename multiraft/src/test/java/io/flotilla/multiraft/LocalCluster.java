package io.flotilla.multiraft;


import io.flotilla.raft.Message;
import io.flotilla.testing.LoopbackPorts;
import io.flotilla.transport.PeerTransport;
import io.flotilla.transport.TransportConfig;
import io.flotilla.transport.TransportFaultFilter;
import io.flotilla.transport.snapshot.SnapshotConfig;
import io.flotilla.transport.snapshot.SnapshotFailpoints;
import java.io.IOException;
import java.net.InetSocketAddress;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalWriterConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.LongFunction;

/**
 * Nodes of the multi-group runtime in one JVM, each with its own real write-ahead log in a
 * directory of its own, linked by an in-process network or by the Netty transport over loopback
 * sockets; either can cut links. Used by the runtime's
 * cluster tests; its methods are called from the test thread (and the network from workers).
 */
final class LocalCluster implements AutoCloseable {
    private final Path dir;
    private final int workersPerNode;
    /** A node's state machine, by node id. */
    private final LongFunction<StateMachine> machines;
    final Map<Long, MultiRaftNode> nodes = new ConcurrentHashMap<>();
    final Map<Long, StateMachine> stateMachines = new ConcurrentHashMap<>();
    private final Map<Long, Wal> wals = new ConcurrentHashMap<>();
    /** Directed links that drop everything: from * 1000 + to. */
    private final Set<Long> cut = ConcurrentHashMap.newKeySet();
    private final TransportFaultFilter faults = new TransportFaultFilter();
    private final Map<Long, PeerTransport> transports = new ConcurrentHashMap<>();
    private boolean overSockets;
    private int[] ports;
    /** Snapshot channel ports by node id; null: no channel, logs are never compacted. */
    private int[] snapshotPorts;
    private int logRetainEntries = 1000;
    private int walSegmentBytes = 1 << 20;
    private boolean keepStateMachines;
    final Map<Long, SnapshotStreams> snapshotStreams = new ConcurrentHashMap<>();
    /** Per node, the failpoints of its snapshot sender (tests arm them). */
    final Map<Long, SnapshotFailpoints> snapshotFailpoints = new ConcurrentHashMap<>();

    LocalCluster(Path dir, int workersPerNode, LongFunction<StateMachine> machines) {
        this.dir = dir;
        this.workersPerNode = workersPerNode;
        this.machines = machines;
    }

    private final PeerSender inProcess = new PeerSender() {
        @Override
        public boolean send(long toNodeId, List<Message> messages) {
            long from = messages.get(0).from;
            if (cut.contains(from * 1000 + toNodeId)) {
                return true;
            }
            MultiRaftNode to = nodes.get(toNodeId);
            return to != null && to.deliver(messages);
        }
    };

    /** Starts node {@code id} (fresh state machine, its log recovered) hosting groups 1..groups with voters 1..3. */
    MultiRaftNode start(long id, int groups) throws Exception {
        WalConfig wc = new WalConfig(walDirectory(id), 1, id, walSegmentBytes, Math.min(256 << 10, walSegmentBytes / 2));
        Wal wal = Wal.open(new NioWalFileSystem(), wc, new WalWriterConfig(1024, 1 << 20, 1), WalCacheConfig.defaults(),
                new WalCacheBudget(64 << 20));
        StateMachine sm = keepStateMachines ? stateMachines.computeIfAbsent(id, machines::apply) : machines.apply(id);
        MultiRaftConfig config = new MultiRaftConfig(id, workersPerNode, 5, 10, 1, 1 << 14, 4096, logRetainEntries);
        SnapshotStreams streams = null;
        if (snapshotPorts != null) {
            SnapshotConfig sc = SnapshotConfig.of(1, id, snapshotPorts[(int) id]).withRetry(10, 200, 100)
                    .withChunking(512, 2048);
            streams = SnapshotStreams.start(sc, dir.resolve("snapshots" + id),
                    snapshotFailpoints.computeIfAbsent(id, k -> new SnapshotFailpoints()));
            for (long peer = 1; peer < snapshotPorts.length; peer++) {
                if (peer != id) {
                    streams.addPeer(peer, new InetSocketAddress("127.0.0.1", snapshotPorts[(int) peer]));
                }
            }
            snapshotStreams.put(id, streams);
        }
        MultiRaftNode node;
        if (overSockets) {
            TransportPeerSender sender = new TransportPeerSender();
            node = new MultiRaftNode(config, wal, sm, sender, streams);
            TransportConfig tc = TransportConfig.of(1, id, ports[(int) id]).withReconnectBackoffMs(10, 200);
            for (long peer = 1; peer < ports.length; peer++) {
                if (peer != id) {
                    tc = tc.withPeer(peer, new InetSocketAddress("127.0.0.1", ports[(int) peer]));
                }
            }
            PeerTransport transport = PeerTransport.start(tc, sender, faults);
            sender.connect(transport, node);
            transports.put(id, transport);
        } else {
            node = new MultiRaftNode(config, wal, sm, inProcess, streams);
        }
        wals.put(id, wal);
        stateMachines.put(id, sm);
        nodes.put(id, node);
        node.start();
        for (long g = 1; g <= groups; g++) {
            boolean created = joining ? node.createGroup(g) : node.createGroup(g, 1, 2, 3);
            if (!created) {
                throw new IllegalStateException("inbox full while creating groups");
            }
        }
        joining = false;
        return node;
    }

    /** Starts node {@code id} with empty replicas of groups 1..groups, to be added by membership changes. */
    MultiRaftNode startJoining(long id, int groups) throws Exception {
        joining = true;
        return start(id, groups);
    }

    private boolean joining;
    /** Compactions, snapshots sent and installed by nodes since stopped. */
    private final long[] stoppedCounts = new long[3];

    /** Over every node incarnation so far: log compactions, snapshots sent, snapshots installed. */
    long[] snapshotCounts() {
        long[] total = stoppedCounts.clone();
        for (MultiRaftNode node : nodes.values()) {
            total[0] += node.compactions();
            total[1] += node.snapshotsSent();
            total[2] += node.snapshotsInstalled();
        }
        return total;
    }

    /** Stops node {@code id} as a crash would, except that its acknowledged writes are durable by construction. */
    void stop(long id) throws Exception {
        MultiRaftNode node = nodes.remove(id);
        if (node == null) {
            return;
        }
        PeerTransport transport = transports.remove(id);
        if (transport != null) {
            transport.close();
        }
        node.close();
        stoppedCounts[0] += node.compactions();
        stoppedCounts[1] += node.snapshotsSent();
        stoppedCounts[2] += node.snapshotsInstalled();
        SnapshotStreams streams = snapshotStreams.remove(id);
        if (streams != null) {
            streams.close();
        }
        wals.remove(id).close();
        if (node.failure() != null) {
            throw new AssertionError("node " + id + " failed", node.failure());
        }
    }

    void isolate(long id) {
        for (long other = 1; other <= 9; other++) {
            if (other != id) {
                cut.add(id * 1000 + other);
                cut.add(other * 1000 + id);
                faults.isolate(id, other);
            }
        }
    }

    void heal() {
        cut.clear();
        faults.passAll();
    }

    /**
     * Gives nodes 1..nodeCount a snapshot channel on loopback, so logs are compacted down to
     * {@code retainEntries} as state machines make state durable, and lagging followers get snapshots.
     */
    LocalCluster withSnapshots(int nodeCount, int retainEntries) throws IOException {
        snapshotPorts = freePorts(nodeCount);
        logRetainEntries = retainEntries;
        return this;
    }

    /** Log segments of {@code segmentBytes} (records up to half that, at most 256 KiB), so tests fill many. */
    LocalCluster withWalSegmentBytes(int segmentBytes) {
        walSegmentBytes = segmentBytes;
        return this;
    }

    /** Where node {@code id} keeps its log. */
    Path walDirectory(long id) {
        return dir.resolve("node" + id);
    }

    /** A restarted node gets its previous state machine back, as a durable one would be. */
    LocalCluster keepStateMachines() {
        keepStateMachines = true;
        return this;
    }

    /** Real loopback sockets through the Netty transport for nodes 1..nodes, on ports free now. */
    LocalCluster overSockets(int nodeCount) throws IOException {
        overSockets = true;
        ports = freePorts(nodeCount);
        return this;
    }

    /** Ports indexed by node id (1..nodeCount); a restarted node gets its own port back. */
    private static int[] freePorts(int nodeCount) throws IOException {
        int[] free = new int[nodeCount + 1];
        System.arraycopy(LoopbackPorts.reserve(nodeCount), 0, free, 1, nodeCount);
        return free;
    }

    @Override
    public void close() throws Exception {
        for (long id : List.copyOf(nodes.keySet())) {
            stop(id);
        }
    }

    /** Waits for a condition with a deadline (tests never sleep for a fixed time). */
    static void waitUntil(BooleanSupplier condition, long timeoutMs, String what) {
        long deadline = System.nanoTime() + timeoutMs * 1_000_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting for: " + what);
            }
            LockSupport.parkNanos(10_000_000);
        }
    }
}
