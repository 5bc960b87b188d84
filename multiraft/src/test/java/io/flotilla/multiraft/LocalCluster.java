package io.flotilla.multiraft;

import io.flotilla.raft.Message;
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
import java.util.function.Supplier;

/**
 * Nodes of the multi-group runtime in one JVM, each with its own real write-ahead log in a
 * directory of its own, linked by an in-process network that can cut links. Used by the runtime's
 * cluster tests; its methods are called from the test thread (and the network from workers).
 */
final class LocalCluster implements AutoCloseable {
    private final Path dir;
    private final int workersPerNode;
    private final Supplier<StateMachine> machines;
    final Map<Long, MultiRaftNode> nodes = new ConcurrentHashMap<>();
    final Map<Long, StateMachine> stateMachines = new ConcurrentHashMap<>();
    private final Map<Long, Wal> wals = new ConcurrentHashMap<>();
    /** Directed links that drop everything: from * 1000 + to. */
    private final Set<Long> cut = ConcurrentHashMap.newKeySet();

    LocalCluster(Path dir, int workersPerNode, Supplier<StateMachine> machines) {
        this.dir = dir;
        this.workersPerNode = workersPerNode;
        this.machines = machines;
    }

    private final PeerSender network = new PeerSender() {
        @Override
        public void send(long toNodeId, List<Message> messages) {
            long from = messages.get(0).from;
            if (cut.contains(from * 1000 + toNodeId)) {
                return;
            }
            MultiRaftNode to = nodes.get(toNodeId);
            if (to != null) {
                to.deliver(messages);
            }
        }
    };

    /** Starts node {@code id} (fresh state machine, its log recovered) hosting groups 1..groups with voters 1..3. */
    MultiRaftNode start(long id, int groups) throws Exception {
        WalConfig wc = new WalConfig(dir.resolve("node" + id), 1, id, 1 << 20, 256 << 10);
        Wal wal = Wal.open(new NioWalFileSystem(), wc, new WalWriterConfig(1024, 1 << 20, 1), WalCacheConfig.defaults(),
                new WalCacheBudget(64 << 20));
        StateMachine sm = machines.get();
        MultiRaftNode node = new MultiRaftNode(new MultiRaftConfig(id, workersPerNode, 5, 10, 1, 1 << 14, 4096), wal, sm, network);
        wals.put(id, wal);
        stateMachines.put(id, sm);
        nodes.put(id, node);
        node.start();
        for (long g = 1; g <= groups; g++) {
            if (!node.createGroup(g, 1, 2, 3)) {
                throw new IllegalStateException("inbox full while creating groups");
            }
        }
        return node;
    }

    /** Stops node {@code id} as a crash would, except that its acknowledged writes are durable by construction. */
    void stop(long id) throws Exception {
        MultiRaftNode node = nodes.remove(id);
        if (node == null) {
            return;
        }
        node.close();
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
            }
        }
    }

    void heal() {
        cut.clear();
    }

    @Override
    public void close() throws Exception {
        for (long id : List.copyOf(nodes.keySet())) {
            stop(id);
        }
    }
}
