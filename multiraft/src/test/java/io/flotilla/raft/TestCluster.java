package io.flotilla.raft;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * A synchronous in-memory network of replicas of one group for scenario tests, in the spirit of the
 * {@code network} helper of etcd's raft tests: every Ready is persisted at once, messages are
 * delivered in FIFO order, and links can be cut. Single-threaded; owned by the test.
 */
final class TestCluster {
    final TreeMap<Long, RaftNode> nodes = new TreeMap<>();
    final TreeMap<Long, MemoryStorage> storages = new TreeMap<>();
    final TreeMap<Long, List<Entry>> applied = new TreeMap<>();
    final TreeMap<Long, List<ReadState>> readStates = new TreeMap<>();
    final ArrayDeque<Message> inFlight = new ArrayDeque<>();
    final List<Message> delivered = new ArrayList<>();
    private final Set<Long> cutLinks = new HashSet<>();
    private Predicate<Message> dropFilter = m -> false;
    private final Function<Long, RaftConfig> configs;

    /** A group whose voters are {@code 1..voters}, with the given config per node. */
    TestCluster(int voters, Function<Long, RaftConfig> configs) {
        this.configs = configs;
        long[] ids = new long[voters];
        for (int i = 0; i < voters; i++) {
            ids[i] = i + 1;
        }
        for (long id : ids) {
            add(id, MemoryStorage.withMembers(ids));
        }
    }

    TestCluster(int voters) {
        this(voters, id -> RaftConfig.defaults(id, 7));
    }

    /** Adds (or replaces) a replica with its own storage, e.g. an empty one for a replica about to be added. */
    RaftNode add(long id, MemoryStorage storage) {
        RaftNode node = new RaftNode(configs.apply(id).withApplied(storage.snapshot().metadata().index()), storage);
        nodes.put(id, node);
        storages.put(id, storage);
        applied.computeIfAbsent(id, k -> new ArrayList<>());
        readStates.computeIfAbsent(id, k -> new ArrayList<>());
        return node;
    }

    /** Restarts a replica from its storage, losing all volatile state (as after a crash once everything was persisted). */
    RaftNode restart(long id) {
        inFlight.removeIf(m -> m.to == id || m.from == id);
        return add(id, storages.get(id));
    }

    RaftNode node(long id) {
        return nodes.get(id);
    }

    void isolate(long id) {
        for (long other : nodes.keySet()) {
            if (other != id) {
                cut(id, other);
                cut(other, id);
            }
        }
    }

    /** Drops every message from {@code from} to {@code to} (one direction). */
    void cut(long from, long to) {
        cutLinks.add(from * 1_000_003L + to);
    }

    void heal() {
        cutLinks.clear();
        dropFilter = m -> false;
    }

    void dropIf(Predicate<Message> filter) {
        dropFilter = filter;
    }

    /** Handles one Ready of one replica as a real runtime would: send, persist, send acks, apply, advance. */
    boolean processReady(long id) {
        RaftNode node = nodes.get(id);
        if (!node.hasReady()) {
            return false;
        }
        Ready rd = node.ready();
        inFlight.addAll(rd.messages());
        MemoryStorage s = storages.get(id);
        if (rd.snapshot() != null) {
            s.applySnapshot(rd.snapshot());
        }
        s.append(rd.entries());
        if (rd.hardState() != null) {
            s.setHardState(rd.hardState());
        }
        inFlight.addAll(rd.messagesAfterPersist());
        applied.get(id).addAll(rd.committedEntries());
        readStates.get(id).addAll(rd.readStates());
        node.advance(rd);
        return true;
    }

    /** Delivers the messages in flight now (not those they cause); returns how many. */
    int deliverAll() {
        int n = 0;
        for (int i = inFlight.size(); i > 0; i--) {
            Message m = inFlight.pollFirst();
            if (cutLinks.contains(m.from * 1_000_003L + m.to) || dropFilter.test(m) || !nodes.containsKey(m.to)) {
                continue;
            }
            delivered.add(m);
            nodes.get(m.to).step(m);
            n++;
        }
        return n;
    }

    /** Processes Readys and delivers messages until nothing is left to do. */
    void stabilize() {
        for (int round = 0; round < 10_000; round++) {
            boolean any = false;
            for (long id : nodes.keySet()) {
                any |= processReady(id);
            }
            any |= deliverAll() > 0;
            if (!any) {
                return;
            }
        }
        throw new AssertionError("cluster did not stabilize");
    }

    void tick(long id, int times) {
        for (int i = 0; i < times; i++) {
            nodes.get(id).tick();
        }
    }

    void tickAll(int times) {
        for (int i = 0; i < times; i++) {
            for (RaftNode n : nodes.values()) {
                n.tick();
            }
            stabilize();
        }
    }

    /** Makes {@code id} campaign and settles the election. */
    void elect(long id) {
        nodes.get(id).campaign();
        stabilize();
        if (nodes.get(id).role() != Role.LEADER) {
            throw new AssertionError("node " + id + " did not win: " + nodes.get(id).role());
        }
    }

    List<Message> deliveredOfType(MessageType type) {
        return delivered.stream().filter(m -> m.type == type).toList();
    }

    /** The payloads of the normal, non-empty entries applied on {@code id}, as strings. */
    List<String> appliedData(long id) {
        return applied.get(id).stream()
                .filter(e -> e.type() == EntryType.NORMAL && e.data().length > 0)
                .map(e -> new String(e.data()))
                .toList();
    }

    /** The full durable log of a replica, as term/index pairs after its snapshot. */
    List<Entry> log(long id) {
        MemoryStorage s = storages.get(id);
        return s.entries(s.firstIndex(), s.lastIndex() + 1, Long.MAX_VALUE);
    }

    static byte[] data(String s) {
        return s.getBytes();
    }
}
