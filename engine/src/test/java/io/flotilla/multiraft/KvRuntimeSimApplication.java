package io.flotilla.multiraft;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.ApplyState;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.SessionConfig;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.RuntimeSimChecker.Kind;
import io.flotilla.raft.Entry;
import io.flotilla.router.KeySpace;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * The key-value application of the runtime simulation: every node runs the engine's
 * {@link KvStateMachine} over a {@link KvRuntimeSimStore} (RocksDB with its WAL off, in memory),
 * and {@link KvRuntimeSimClients} drive it as the real client would. The simulation's groups are
 * ranges that tile the key space. Besides the simulation's own checks, this checks as rounds
 * commit: that no replica writes a client's value twice (each value is unique to one write, so a
 * second write of it is a second apply of that (client id, sequence)), and that replicas that
 * reach the same applied index of a range hold the same state there (keys, sessions, apply
 * state). With splits on ({@link KvRuntimeSimSplits}), ranges split while the run goes: a node
 * restarted after applying a split hosts the new range as the real node does (every range its
 * store holds), and a value a range wrote before a split counts as written in the new range too
 * (the new range starts with the old one's keys), so a write applied again there is caught.
 * Owned by the seed's thread.
 */
final class KvRuntimeSimApplication implements RuntimeSimApplication, KvRuntimeSimStore.Observer,
        KvRuntimeSimStateMachine.Observer {
    /** Small limits, so that the workload's oversized requests stay small log entries. */
    static final KvLimits LIMITS = new KvLimits(48, 192, 4, 512, 100, 4096);
    /** The state of a range as one replica committed it at one index: the first replica to get there, and its digest. */
    private record Digest(long node, long digest) {
    }

    private final RuntimeSimConfig config;
    private final SessionConfig sessions;
    private final boolean splitsOn;
    private KvRuntimeSimSplits splits;
    private final boolean movesOn;
    private KvRuntimeSimMoves moves;
    /** The ranges at the start, in the order of {@link RuntimeSimConfig#groupIds}. */
    private final List<RangeDescriptor> ranges = new ArrayList<>();
    private final Map<Long, RangeDescriptor> rangeById = new HashMap<>();
    private RuntimeSimCluster cluster;
    private KvRuntimeSimClients clients;
    private SplittableRandom random;
    /** node → range → user value → applied index of the round that wrote it (since the replica's state last began). */
    private final Map<Long, Map<Long, Map<ByteString, Long>>> written = new HashMap<>();
    /** User value → the range that first wrote it (on any replica). */
    private final Map<ByteString, Long> firstWrittenBy = new HashMap<>();
    /** range → applied index → the first replica's state there. */
    private final Map<Long, Map<Long, Digest>> digests = new HashMap<>();
    long flushes;
    long requestedFlushes;
    long rounds;
    /** Entries applied but not yet flushed when a node crashed (or closed and restarted without its state): lost, then replayed from the log. */
    long lostEntries;

    /**
     * The ranges of {@code config}'s groups; a seed's coin gives half the seeds short-lived sessions
     * (1.5 s of log time, well above the clients' 0.6 s retry window) and a cap of one session more
     * than there are clients, so expiry, SessionExpired and a full session table all happen.
     */
    KvRuntimeSimApplication(RuntimeSimConfig config, boolean splitsOn, boolean movesOn) {
        this.config = config;
        this.splitsOn = splitsOn;
        this.movesOn = movesOn;
        SplittableRandom r = new SplittableRandom(config.seed() ^ 0x6B7653696DL);
        this.sessions = r.nextBoolean() ? SessionConfig.defaults() : new SessionConfig(1_500, config.clients() + 1);
        List<RangeDescriptor> tiled = KeySpace.tile(config.groupIds().length, 1);
        for (int g = 0; g < tiled.size(); g++) {
            RangeDescriptor.Builder b = tiled.get(g).toBuilder().setRangeId(config.groupIds()[g]);
            for (long v : config.initialVoters()[g]) {
                b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(v).setRole(ReplicaRole.VOTER));
            }
            RangeDescriptor range = b.build();
            ranges.add(range);
            rangeById.put(range.getRangeId(), range);
        }
    }

    KvRuntimeSimClients clients() {
        return clients;
    }

    /** The run's splits; null with splits off. */
    KvRuntimeSimSplits splits() {
        return splits;
    }

    /** The run's replica moves; null with moves off. */
    KvRuntimeSimMoves moves() {
        return moves;
    }

    @Override
    public boolean holdsMembership(long groupId) {
        return moves != null && moves.holds(groupId);
    }

    @Override
    public boolean dropsRemovedReplicas() {
        return moves != null;
    }

    SessionConfig sessions() {
        return sessions;
    }

    List<RangeDescriptor> ranges() {
        return ranges;
    }

    /** The state machine of {@code node}'s current (or last) incarnation. */
    KvStateMachine kv(RuntimeSimNode node) {
        return ((KvRuntimeSimStateMachine) node.stateMachine()).kv();
    }

    @Override
    public RuntimeSimWorkload workload(RuntimeSimCluster cluster, SplittableRandom random) {
        this.cluster = cluster;
        this.random = random.split();
        if (splitsOn) {
            this.splits = new KvRuntimeSimSplits(cluster, this, random.split());
        }
        if (movesOn) {
            // A stream of its own, so that the clients' draws are those of a run without moves.
            this.moves = new KvRuntimeSimMoves(cluster, this, new SplittableRandom(config.seed() ^ 0x4D6F766573L));
        }
        this.clients = new KvRuntimeSimClients(cluster, this, random);
        return clients;
    }

    /** Every node keeps durable state, with or without snapshots: flushes run in every seed. */
    @Override
    public boolean flushes(RuntimeSimNode node) {
        return true;
    }

    @Override
    public RuntimeSimStateMachine recover(RuntimeSimCluster cluster, RuntimeSimNode node, RuntimeSimStateMachine crashed) {
        KvRuntimeSimStore store;
        if (crashed == null) {
            store = new KvRuntimeSimStore(node.id, this, node.snapshots(), this::flushSoon);
        } else {
            KvRuntimeSimStore old = ((KvRuntimeSimStateMachine) crashed).store();
            flushes += old.flushes;
            requestedFlushes += old.requestedFlushes;
            for (long groupId : old.groupIds()) {
                lostEntries += old.applyState(groupId).appliedIndex() - old.durableIndex(groupId);
            }
            store = KvRuntimeSimStore.recover(old);
            forgetUndurable(node.id, store);
        }
        KvStateMachine kv = new KvStateMachine(store, LIMITS, sessions);
        if (crashed == null) {
            List<RangeDescriptor> initial = new ArrayList<>();
            for (Map.Entry<Long, long[]> hosted : node.hosted.entrySet()) {
                if (hosted.getValue().length > 0 && rangeById.containsKey(hosted.getKey())) {
                    initial.add(rangeById.get(hosted.getKey()));
                }
            }
            kv.bootstrap(initial);
        }
        if (splits != null) {
            kv.onSplit(splits.listener(node));
        }
        for (RangeDescriptor range : kv.ranges()) {
            // As the node does at start: a group for every range its store holds, those split off included.
            node.hosted.putIfAbsent(range.getRangeId(), KvRuntimeSimSplits.voters(range));
        }
        return new KvRuntimeSimStateMachine(node.id, store, kv, this, rangeById::get);
    }

    /** A flush of one group a little later, as RocksDB's flush thread would run it, unless the incarnation is gone by then. */
    private void flushSoon(KvRuntimeSimStore store, long groupId) {
        cluster.scheduler().after(200_000 + random.nextLong(5_000_000), () -> {
            if (store.isLive() && cluster.node(store.nodeId()).up()) {
                store.flush(groupId);
            }
        });
    }

    /** A crashed node restarts from its durable copies: what it wrote after them is no longer written. */
    private void forgetUndurable(long node, KvRuntimeSimStore recovered) {
        Map<Long, Map<ByteString, Long>> byRange = written.get(node);
        if (byRange == null) {
            return;
        }
        for (Map.Entry<Long, Map<ByteString, Long>> e : byRange.entrySet()) {
            long durable = recovered.applyState(e.getKey()) == null ? -1 : recovered.durableIndex(e.getKey());
            e.getValue().values().removeIf(index -> index > durable);
        }
    }

    @Override
    public void committed(long node, long groupId, ApplyState state, List<ByteString> puts, byte[] image) {
        rounds++;
        Map<ByteString, Long> values = written.computeIfAbsent(node, n -> new HashMap<>())
                .computeIfAbsent(groupId, g -> new HashMap<>());
        for (ByteString v : puts) {
            if (firstWrittenBy.putIfAbsent(v, groupId) == null) {
                clients.firstWritten(v, groupId);
            }
            Long before = values.putIfAbsent(v, state.appliedIndex());
            if (before != null) {
                cluster.checker().violation(Kind.EXACTLY_ONCE, "node " + node + " wrote value " + v.toStringUtf8()
                        + " of range " + groupId + " in its round up to index " + state.appliedIndex()
                        + (before == state.appliedIndex() ? " twice" : ", and before in its round up to " + before)
                        + ": one client write applied twice");
            }
        }
        long digest = Arrays.hashCode(image) * 31L + image.length;
        Digest first = digests.computeIfAbsent(groupId, g -> new HashMap<>()).putIfAbsent(state.appliedIndex(),
                new Digest(node, digest));
        if (first != null && first.digest() != digest) {
            cluster.checker().violation(Kind.REPLICAS_DIVERGE, "node " + node + " holds other state of range " + groupId
                    + " at applied index " + state.appliedIndex() + " than node " + first.node() + " held there");
        }
    }

    /** The range that first wrote user value {@code value} on any replica, or null. */
    Long firstWrittenBy(ByteString value) {
        return firstWrittenBy.get(value);
    }

    @Override
    public void applied(long node, long groupId, Entry entry) {
        cluster.applied(node, groupId, entry, clients.attemptOf(entry.data(), groupId, entry.index()));
        if (moves != null) {
            moves.applied(node, groupId, entry);
        }
    }

    /**
     * {@code node} applied the split of {@code parentId} that made {@code newRangeId}: the values the
     * parent wrote are the new range's too (it starts with a copy of the parent's keys), durable
     * with it, so a second apply of one of them there is a write applied twice. A replay of the
     * split after a restart finds the new range made and keeps what it wrote since.
     */
    void splitApplied(long node, long parentId, long newRangeId) {
        Map<Long, Map<ByteString, Long>> byRange = written.computeIfAbsent(node, n -> new HashMap<>());
        if (byRange.containsKey(newRangeId)) {
            return;
        }
        Map<ByteString, Long> copied = new HashMap<>();
        for (ByteString v : byRange.getOrDefault(parentId, Map.of()).keySet()) {
            copied.put(v, 0L);
        }
        byRange.put(newRangeId, copied);
    }

    @Override
    public void installed(long node, long groupId, long index) {
        if (splits != null) {
            splits.installed(node, groupId, index);
        }
    }

    @Override
    public void replaced(long node, long groupId) {
        Map<Long, Map<ByteString, Long>> byRange = written.get(node);
        if (byRange != null) {
            byRange.remove(groupId);
        }
    }
}
