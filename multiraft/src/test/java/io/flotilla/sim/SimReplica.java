package io.flotilla.sim;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Role;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Snapshot;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * One replica of one group on one node: a {@link RaftNode}, the durable {@link SimStorage} it
 * reads (a MemoryStorage, or its group of the node's real write-ahead log), the state machine, and
 * the one {@link Ready} being handled. The storage is the only part that survives a crash. Handles
 * each Ready as an asynchronous disk would: messages go at once, the writes land after a disk
 * delay, and only then go acknowledgements, applies and {@code advance}. Owned by the single
 * thread that runs the seed.
 */
final class SimReplica {
    final int nodeId;
    final int groupId;
    private final SimCluster cluster;
    private final SimStorage storage;

    /** Null while the node is down. */
    private RaftNode raft;
    private SimKvStateMachine stateMachine;
    /** The Ready taken from the core and not yet advanced; null if none. */
    private Ready outstanding;
    /** Invariant: lastApplied == stateMachine.appliedIndex() while up. */
    private long lastApplied;

    /** Writes waiting to be applied here, by (clientId, seq); TreeMap so completions run in a fixed order. */
    private final TreeMap<Long, SimOp> awaitingApply = new TreeMap<>();
    /** Reads waiting for their ReadState, by request id. */
    private final TreeMap<Long, SimOp> awaitingReadState = new TreeMap<>();
    /** Reads with a read index, waiting for the state machine to reach it, in arrival order. */
    private final List<PendingRead> awaitingIndex = new ArrayList<>();

    /** The last term this replica was seen leading in; 0 if never. */
    long leaderTerm;
    /** When >= 0: leader completeness is still to be checked for {@link #leaderTerm}, up to this committed index. */
    long completenessUpTo = -1;

    private record PendingRead(long index, SimOp op) {
    }

    SimReplica(SimCluster cluster, int nodeId, int groupId, SimStorage storage) {
        this.cluster = cluster;
        this.nodeId = nodeId;
        this.groupId = groupId;
        this.storage = storage;
    }

    boolean isUp() {
        return raft != null;
    }

    RaftNode raft() {
        return raft;
    }

    /** The durable storage as the core reads it (while the node is up). */
    RaftStorage storage() {
        return storage.raft();
    }

    long lastApplied() {
        return lastApplied;
    }

    /** The leader this replica knows of, or 0 (also when down). */
    long hintOrZero() {
        return raft == null ? 0 : raft.leader();
    }

    /** Starts (or restarts) from the durable storage: the state machine comes from its snapshot. */
    void start(int incarnation) {
        RaftStorage durable = storage.raft();
        Snapshot snap = durable.snapshot();
        long applied = snap.metadata().index();
        raft = new RaftNode(cluster.hooks().raftConfig().apply(cluster.config().raftConfig(nodeId, groupId, incarnation, applied)), durable);
        stateMachine = SimKvStateMachine.restore(snap.data(), applied);
        if (stateMachine.appliedIndex() != applied) {
            throw violation("snapshot at %d holds a state machine at %d", applied, stateMachine.appliedIndex());
        }
        lastApplied = applied;
        cluster.invariants().onRecovered(this, snap, stateMachine.digest());
        leaderTerm = 0;
        completenessUpTo = -1;
        afterInput();
    }

    /** Loses everything not in the storage, including the outstanding Ready's writes. */
    void crash() {
        raft = null;
        stateMachine = null;
        outstanding = null;
        awaitingApply.clear();
        awaitingReadState.clear();
        awaitingIndex.clear();
    }

    void tick() {
        raft.tick();
        afterInput();
    }

    void step(Message m) {
        if (m.groupId != groupId || m.to != nodeId) {
            throw violation("misrouted message %s of group %d", m, m.groupId);
        }
        raft.step(m);
        afterInput();
    }

    ProposeResult propose(SimCommand command, SimOp op) {
        ProposeResult result = raft.propose(command.encode());
        if (result == ProposeResult.ACCEPTED) {
            awaitingApply.put(opKey(command.clientId(), command.seq()), op);
        }
        afterInput();
        return result;
    }

    void readIndex(long requestId, SimOp op) {
        awaitingReadState.put(requestId, op);
        raft.readIndex(requestId);
        afterInput();
    }

    ProposeResult proposeConfChange(ConfChange cc) {
        ProposeResult result = raft.proposeConfChange(cc);
        afterInput();
        return result;
    }

    boolean transferLeader(long target) {
        boolean started = raft.transferLeader(target);
        afterInput();
        return started;
    }

    void reportSnapshot(long peer, boolean ok) {
        raft.reportSnapshot(peer, ok);
        afterInput();
    }

    void reportUnreachable(long peer) {
        raft.reportUnreachable(peer);
        afterInput();
    }

    /** After anything that may change the core: check the invariants, then take a Ready if one waits. */
    private void afterInput() {
        long ledTerm = leaderTerm;
        cluster.invariants().checkReplica(this);
        if (leaderTerm != ledTerm && cluster.logging()) {
            cluster.log("group %d: node %d leads term %d (last index %d, commit %d, %s)",
                    groupId, nodeId, leaderTerm, raft.lastIndex(), raft.commitIndex(), raft.confState());
        }
        if (outstanding != null || !raft.hasReady()) {
            return;
        }
        Ready original = raft.ready();
        Ready rd = cluster.hooks().ready().rewrite(nodeId, groupId, original);
        outstanding = original;
        for (Message m : rd.messages()) {
            send(m);
        }
        long delayUs = rd.mustPersist() ? cluster.diskDelayUs(nodeId) : 1 + cluster.diskRandom().nextInt(20);
        RaftNode owner = raft;
        cluster.scheduler().after(delayUs, () -> {
            if (raft == owner && outstanding == original) {
                persisted(rd, original);
            }
        });
    }

    private void send(Message m) {
        if (m.from != nodeId || m.groupId != groupId) {
            throw violation("replica emitted a message of another replica: %s (group %d)", m, m.groupId);
        }
        cluster.invariants().onSend(this, m);
        cluster.nemesis().onSend(this, m);
        cluster.network().send(m);
    }

    /**
     * The disk write of {@code rd} has completed: finish the Ready in the order its contract sets.
     * The snapshot, entries and hard state become durable together (one batch on the WAL), then
     * each is checked and acted on.
     */
    private void persisted(Ready rd, Ready original) {
        HardState durableBefore = storage.raft().initialHardState();
        storage.persist(rd.snapshot(), rd.entries(), rd.hardState());
        if (rd.snapshot() != null) {
            installSnapshot(rd.snapshot());
        }
        if (!rd.entries().isEmpty()) {
            cluster.invariants().onPersistedEntries(this, rd.entries());
        }
        if (rd.hardState() != null) {
            cluster.invariants().onHardState(this, durableBefore, rd.hardState());
        }
        cluster.invariants().onPersisted(this);
        for (Message m : rd.messagesAfterPersist()) {
            send(m);
        }
        for (Entry e : rd.committedEntries()) {
            apply(e);
        }
        for (ReadState rs : rd.readStates()) {
            onReadState(rs);
        }
        outstanding = null;
        raft.advance(original);
        cluster.invariants().afterAdvance(this);
        maybeSnapshot();
        afterInput();
    }

    /** The state machine's side of a received snapshot, which {@link SimStorage#persist} has made durable. */
    private void installSnapshot(Snapshot s) {
        long index = s.metadata().index();
        if (index <= lastApplied) {
            throw violation("Ready carries a snapshot at %d, not beyond applied index %d", index, lastApplied);
        }
        stateMachine = SimKvStateMachine.restore(s.data(), index);
        if (stateMachine.appliedIndex() != index) {
            throw violation("snapshot at %d holds a state machine at %d", index, stateMachine.appliedIndex());
        }
        lastApplied = index;
        cluster.invariants().onSnapshotInstalled(this, s, stateMachine.digest());
        Iterator<Map.Entry<Long, SimOp>> it = awaitingApply.entrySet().iterator();
        while (it.hasNext()) {
            SimOp op = it.next().getValue();
            SimKvStateMachine.Applied done = stateMachine.sessionResult(op.client.clientId, op.seq);
            if (done != null) {
                it.remove();
                op.client.onCommandApplied(op, done.swapped());
            } else if (stateMachine.lastSeq(op.client.clientId) > op.seq) {
                it.remove();
            }
        }
        serveReads();
    }

    private void apply(Entry e) {
        if (e.index() != lastApplied + 1) {
            throw violation("applies entry %d/%d after applied index %d", e.term(), e.index(), lastApplied);
        }
        cluster.invariants().onApplying(this, e);
        SimKvStateMachine.Applied result = stateMachine.apply(e);
        lastApplied = e.index();
        cluster.invariants().onApplied(this, e, stateMachine.digest());
        cluster.trace().applied(nodeId, groupId, e);
        if (e.type() == EntryType.CONF_CHANGE && raft.role() == Role.LEADER) {
            cluster.log("group %d: leader %d applies %s at index %d", groupId, nodeId, ConfChange.decode(e.data()), e.index());
        }
        if (result != null) {
            SimOp op = awaitingApply.remove(opKey(result.clientId(), result.seq()));
            if (op != null) {
                op.client.onCommandApplied(op, result.swapped());
            }
            if (raft.role() == Role.LEADER) {
                cluster.nemesis().onLeaderApplied(this);
            }
        }
        serveReads();
    }

    private void onReadState(ReadState rs) {
        SimOp op = awaitingReadState.remove(rs.requestId());
        if (op == null) {
            return;
        }
        if (!rs.ok()) {
            op.client.onReadRefused(op, rs.requestId());
            return;
        }
        awaitingIndex.add(new PendingRead(rs.index(), op));
        serveReads();
    }

    private void serveReads() {
        if (awaitingIndex.isEmpty()) {
            return;
        }
        Iterator<PendingRead> it = awaitingIndex.iterator();
        while (it.hasNext()) {
            PendingRead r = it.next();
            if (r.index() <= lastApplied) {
                it.remove();
                r.op().client.onReadServed(r.op(), stateMachine.get(r.op().key));
            }
        }
    }

    /** Snapshots the state machine every few entries and compacts the log below it. */
    private void maybeSnapshot() {
        long snapshotIndex = storage.snapshotIndex();
        if (lastApplied - snapshotIndex < cluster.config().snapshotEveryEntries()) {
            return;
        }
        long lastIndex = storage.raft().lastIndex();
        if (lastApplied > lastIndex) {
            throw violation("applied index %d is beyond the durable log's last index %d", lastApplied, lastIndex);
        }
        long compactTo = lastApplied - cluster.config().keepEntriesAfterSnapshot();
        storage.snapshotAndCompact(lastApplied, raft.confState(), stateMachine.serialize(), compactTo);
    }

    private static long opKey(int clientId, long seq) {
        return (long) clientId << 40 | seq;
    }

    SimViolation violation(String format, Object... args) {
        return new SimViolation(cluster.scheduler().nowUs(),
                "group " + groupId + " node " + nodeId + ": " + String.format(format, args));
    }
}
