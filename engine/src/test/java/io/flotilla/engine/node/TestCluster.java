package io.flotilla.engine.node;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.multiraft.GroupView;
import io.flotilla.router.KeySpace;
import io.flotilla.testing.LoopbackPorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Three (or more) {@link FlotillaNode}s in this JVM on loopback ports, each with its data directory under a
 * test's temporary directory, and the helpers tests need (the leader of a range, waiting for a
 * condition with a deadline). Owned by the test thread.
 */
final class TestCluster implements AutoCloseable {
    static final long CLUSTER_ID = 42;
    static final int RANGES = 4;

    private final Path root;
    private final int ranges;
    private final Map<Long, ClusterMember> members = new TreeMap<>();
    private final int size;
    private final FlotillaNode[] nodes;
    /** Tests split by hand unless they say otherwise. */
    private SplitPolicy splitPolicy = SplitPolicy.manualOnly();

    TestCluster(Path root) throws IOException {
        this(root, RANGES);
    }

    /** A cluster whose nodes bootstrap {@code ranges} ranges. */
    TestCluster(Path root, int ranges) throws IOException {
        this(root, ranges, 3);
    }

    /** A cluster of {@code size} nodes whose nodes bootstrap {@code ranges} ranges (each on three of them). */
    TestCluster(Path root, int ranges, int size) throws IOException {
        this.root = root;
        this.ranges = ranges;
        this.size = size;
        this.nodes = new FlotillaNode[size + 1];
        int[] ports = freePorts(3 * size);
        for (int id = 1; id <= size; id++) {
            int p = (id - 1) * 3;
            members.put((long) id, new ClusterMember(id, "127.0.0.1", ports[p], ports[p + 1], ports[p + 2]));
        }
    }

    /** Distinct loopback ports free right now, outside the range outgoing connections draw from. */
    static int[] freePorts(int count) throws IOException {
        return LoopbackPorts.reserve(count);
    }

    NodeConfig config(long id) {
        NodeConfig d = NodeConfig.of(id, CLUSTER_ID, root.resolve("node" + id), members);
        return new NodeConfig(id, CLUSTER_ID, d.dataDir(), d.peerListen(), d.snapshotListen(), d.clientListen(), members,
                ranges, 1, 1, d.maxClientFrameBytes(), d.defaultTimeoutMs(), 2_000, 10, 10, false, splitPolicy, null);
    }

    /** The split policy of nodes started from now on. */
    TestCluster withSplitPolicy(SplitPolicy policy) {
        this.splitPolicy = policy;
        return this;
    }

    TestCluster startAll() throws IOException {
        for (long id = 1; id <= size; id++) {
            start(id);
        }
        return this;
    }

    FlotillaNode start(long id) throws IOException {
        return start(id, UnaryOperator.identity());
    }

    /** Starts node {@code id} with its test config changed by {@code adjust} (metrics served, say). */
    FlotillaNode start(long id, UnaryOperator<NodeConfig> adjust) throws IOException {
        nodes[(int) id] = FlotillaNode.start(adjust.apply(config(id)));
        return nodes[(int) id];
    }

    void stop(long id) {
        nodes[(int) id].close();
        nodes[(int) id] = null;
    }

    FlotillaNode node(long id) {
        return nodes[(int) id];
    }

    InetSocketAddress clientAddress(long id) {
        return nodes[(int) id].clientAddress();
    }

    /** The range of the running nodes' key space that holds {@code key}. */
    RangeDescriptor rangeOf(ByteString key) {
        for (FlotillaNode n : nodes) {
            if (n != null) {
                for (RangeDescriptor r : n.stateMachine().ranges()) {
                    if (KeySpace.contains(r, key)) {
                        return r;
                    }
                }
            }
        }
        throw new AssertionError("no range holds " + key);
    }

    /** Waits until every running node's replica of {@code rangeId} agrees on one leader among them; returns it. */
    long awaitLeader(long rangeId) {
        long[] leader = new long[1];
        await(10_000, "a leader of range " + rangeId + " that every running node knows", () -> {
            long agreed = 0;
            for (FlotillaNode n : nodes) {
                if (n == null) {
                    continue;
                }
                if (!n.leadersPlaced()) {
                    return false; // a new cluster's leaderships still move to their preferred nodes
                }
                GroupView v = n.runtime().groupView(rangeId);
                if (v == null && size > 3) {
                    continue; // a node the range has no replica on
                }
                if (v == null || v.leaderNodeId() == 0 || (agreed != 0 && v.leaderNodeId() != agreed)) {
                    return false;
                }
                agreed = v.leaderNodeId();
            }
            FlotillaNode l = agreed == 0 ? null : nodes[(int) agreed];
            if (l == null || !l.runtime().groupView(rangeId).leading()) {
                return false;
            }
            leader[0] = agreed;
            return true;
        });
        return leader[0];
    }

    RequestHeader.Builder header(RangeDescriptor range) {
        return RequestHeader.newBuilder().setClusterId(CLUSTER_ID).setRangeId(range.getRangeId())
                .setRangeEpoch(range.getEpoch());
    }

    /** Polls {@code condition} until it holds, failing after {@code timeoutMs}. */
    static void await(long timeoutMs, String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + timeoutMs + " ms waiting for " + what);
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(2));
        }
    }

    @Override
    public void close() {
        for (int id = 1; id <= size; id++) {
            if (nodes[id] != null) {
                nodes[id].close();
                nodes[id] = null;
            }
        }
    }
}
