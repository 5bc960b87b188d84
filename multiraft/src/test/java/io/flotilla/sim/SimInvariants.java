package io.flotilla.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.raft.LogCompactedException;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Role;
import io.flotilla.raft.Snapshot;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;

/**
 * The safety properties of Raft, checked as the run goes (each replica calls in after every input
 * and at every step of its Ready); the first broken one throws a {@link SimViolation}:
 * <ul>
 *   <li>Election Safety: at most one leader per term and group, over the whole run;</li>
 *   <li>Log Matching: two durable logs holding an entry with the same index and term hold the same
 *       entry and the same term before it (so, by induction, the same prefix);</li>
 *   <li>State Machine Safety: a ground truth per group maps each index to the entry first applied
 *       there and to the state machine digest after it; every later application must match both,
 *       so every replica applies the same sequence and a committed entry is never lost or changed;</li>
 *   <li>Leader Completeness: once a new leader's first entry of its term is durable, its log holds
 *       every entry applied anywhere before it was elected;</li>
 *   <li>durable promises: a granted vote or an accepted append is durable before it is sent;</li>
 *   <li>applied &lt;= committed, applied indexes advance by one (or jump with a snapshot), applied
 *       entries are in the replica's own durable log, and durable hard state never goes back
 *       (term, commit) nor changes a vote within a term.</li>
 * </ul>
 * Only lookups use hash maps, never iteration, so checks do not disturb determinism. Owned by the
 * single thread that runs the seed.
 */
final class SimInvariants {
    private record LogPosition(long index, long term) {
    }

    /** An entry some durable log held, with the term of the entry before it (-1: unknown, compacted). */
    private static final class Slot {
        final Entry entry;
        final int nodeId;
        long previousTerm;

        Slot(Entry entry, int nodeId, long previousTerm) {
            this.entry = entry;
            this.nodeId = nodeId;
            this.previousTerm = previousTerm;
        }
    }

    /** Everything the checks remember about one group. */
    private static final class GroupState {
        final HashMap<Long, Integer> leaderByTerm = new HashMap<>();
        final HashMap<LogPosition, Slot> durableEntries = new HashMap<>();
        /** truth.get(i): the entry applied at index i, or null if none applied yet. Index 0 unused. */
        final ArrayList<Entry> truth = new ArrayList<>(List.of(Entry.normal(0, 0, null)));
        long[] truthDigest = new long[1024];
        /** Who first applied each index, for messages. */
        int[] truthNode = new int[1024];
        long maxTruthIndex;
    }

    private final SimScheduler scheduler;
    private final GroupState[] groups;
    private long leaderElections;
    private long snapshotsInstalled;
    private long confChangesCommitted;

    SimInvariants(SimScheduler scheduler, int groupCount) {
        this.scheduler = scheduler;
        this.groups = new GroupState[groupCount + 1];
        for (int g = 1; g <= groupCount; g++) {
            groups[g] = new GroupState();
        }
    }

    long leaderElections() {
        return leaderElections;
    }

    /** Snapshots received from a leader and installed (not restarts from one's own). */
    long snapshotsInstalled() {
        return snapshotsInstalled;
    }

    long confChangesCommitted() {
        return confChangesCommitted;
    }

    /** After any input to a replica: one leader per term, applied <= committed; arms the completeness check. */
    void checkReplica(SimReplica r) {
        RaftNode raft = r.raft();
        if (raft.appliedIndex() > raft.commitIndex() || r.lastApplied() > raft.commitIndex()) {
            throw r.violation("applied index %d (state machine %d) beyond commit index %d",
                    raft.appliedIndex(), r.lastApplied(), raft.commitIndex());
        }
        if (raft.role() != Role.LEADER) {
            return;
        }
        long term = raft.term();
        if (term == r.leaderTerm) {
            return;
        }
        GroupState g = groups[r.groupId];
        Integer other = g.leaderByTerm.putIfAbsent(term, r.nodeId);
        if (other != null && other != r.nodeId) {
            throw r.violation("Election Safety: nodes %d and %d both lead term %d", other, r.nodeId, term);
        }
        leaderElections++;
        r.leaderTerm = term;
        r.completenessUpTo = g.maxTruthIndex;
    }

    /** {@code entries} of one Ready were just appended to {@code r}'s durable storage. */
    void onPersistedEntries(SimReplica r, List<Entry> entries) {
        GroupState g = groups[r.groupId];
        RaftStorage storage = r.storage();
        for (int k = 0; k < entries.size(); k++) {
            Entry e = entries.get(k);
            long previousTerm = k > 0 ? entries.get(k - 1).term() : termOrUnknown(storage, e.index() - 1);
            LogPosition pos = new LogPosition(e.index(), e.term());
            Slot s = g.durableEntries.get(pos);
            if (s == null) {
                g.durableEntries.put(pos, new Slot(e, r.nodeId, previousTerm));
                continue;
            }
            if (!sameEntry(s.entry, e)) {
                throw r.violation("Log Matching: durable entry %s differs from %s on node %d at the same index and term",
                        e, s.entry, s.nodeId);
            }
            if (s.previousTerm < 0) {
                s.previousTerm = previousTerm;
            } else if (previousTerm >= 0 && previousTerm != s.previousTerm) {
                throw r.violation("Log Matching: entry %d/%d follows an entry of term %d here but of term %d on node %d",
                        e.term(), e.index(), previousTerm, s.previousTerm, s.nodeId);
            }
        }
        checkLeaderCompleteness(r, entries);
    }

    /**
     * When the first entry of the replica's leader term becomes durable, the log before it is the log
     * the replica was elected with (a leader only appends); it must hold every entry applied anywhere
     * before the election (Raft §5.4.1).
     */
    private void checkLeaderCompleteness(SimReplica r, List<Entry> entries) {
        if (r.completenessUpTo < 0) {
            return;
        }
        long first = -1;
        for (Entry e : entries) {
            if (e.term() == r.leaderTerm) {
                first = e.index();
                break;
            }
        }
        if (first < 0) {
            return;
        }
        long upTo = r.completenessUpTo;
        r.completenessUpTo = -1;
        if (first - 1 < upTo) {
            throw r.violation("Leader Completeness: leader of term %d began its term at index %d, but index %d was committed before it was elected",
                    r.leaderTerm, first, upTo);
        }
        GroupState g = groups[r.groupId];
        RaftStorage storage = r.storage();
        long snapshotIndex = storage.firstIndex() - 1;
        if (snapshotIndex >= 1 && snapshotIndex <= upTo && storage.term(snapshotIndex) != g.truth.get((int) snapshotIndex).term()) {
            throw r.violation("Leader Completeness: leader of term %d has term %d at snapshot index %d, committed entry is %s",
                    r.leaderTerm, storage.term(snapshotIndex), snapshotIndex, g.truth.get((int) snapshotIndex));
        }
        long lo = Math.max(1, storage.firstIndex());
        long hi = Math.min(upTo, first - 1);
        if (lo > hi) {
            return;
        }
        List<Entry> log = storage.entries(lo, hi + 1, Long.MAX_VALUE);
        for (Entry e : log) {
            Entry committed = g.truth.get((int) e.index());
            if (committed != null && !sameEntry(committed, e)) {
                throw r.violation("Leader Completeness: leader of term %d holds %s where %s was committed",
                        r.leaderTerm, e, committed);
            }
        }
    }

    /**
     * Before {@code r} sends {@code m}: what the message promises is durable (Raft Figure 2: persistent
     * state is updated on stable storage before responding to RPCs). A granted vote needs that vote in
     * the durable hard state, an accepted append needs its entries in the durable log — unless the
     * durable term has already moved past the message's term, which supersedes the promise (a replica
     * may vote in term t and then in t+1 within one Ready; only the later vote needs to be durable).
     */
    void onSend(SimReplica r, Message m) {
        RaftStorage storage = r.storage();
        HardState hs = storage.initialHardState();
        if (hs.term() > m.term) {
            return;
        }
        if (m.type == MessageType.VOTE_RESPONSE && !m.reject && (hs.term() != m.term || hs.vote() != m.to)) {
            throw r.violation("grants its vote to %d in term %d, but its durable hard state is %s", m.to, m.term, hs);
        }
        if (m.type == MessageType.APPEND_RESPONSE && !m.reject && m.index > storage.lastIndex()) {
            throw r.violation("acknowledges entries up to %d in term %d, but its durable log ends at %d (%s)",
                    m.index, m.term, storage.lastIndex(), hs);
        }
    }

    /** Before {@code r} writes a new hard state: term and commit never go back, a vote never changes within a term. */
    void onHardState(SimReplica r, HardState before, HardState after) {
        if (after.term() < before.term()) {
            throw r.violation("durable term goes back from %d to %d", before.term(), after.term());
        }
        if (after.term() == before.term() && before.vote() != 0 && after.vote() != before.vote()) {
            throw r.violation("durable vote in term %d changes from %d to %d", after.term(), before.vote(), after.vote());
        }
        if (after.commit() < before.commit()) {
            throw r.violation("durable commit goes back from %d to %d", before.commit(), after.commit());
        }
    }

    /** After a Ready's writes: the durable commit index is within the durable log. */
    void onPersisted(SimReplica r) {
        RaftStorage storage = r.storage();
        long commit = storage.initialHardState().commit();
        if (commit > storage.lastIndex()) {
            throw r.violation("durable commit %d beyond durable last index %d", commit, storage.lastIndex());
        }
    }

    /** Before applying {@code e}: it is in the replica's own durable log, with the same term. */
    void onApplying(SimReplica r, Entry e) {
        RaftStorage storage = r.storage();
        if (e.index() > storage.lastIndex() || e.index() < storage.firstIndex() || storage.term(e.index()) != e.term()) {
            throw r.violation("applies %s, which is not in its durable log [%d, %d] (term there %d)",
                    e, storage.firstIndex(), storage.lastIndex(), termOrUnknown(storage, e.index()));
        }
    }

    /** After applying {@code e}: it and the state machine digest after it agree with the ground truth. */
    void onApplied(SimReplica r, Entry e, long digest) {
        GroupState g = groups[r.groupId];
        int i = (int) e.index();
        if (i >= g.truth.size()) {
            if (i != g.truth.size()) {
                throw r.violation("applied index %d leaves a gap after ground truth %d", i, g.truth.size() - 1);
            }
            g.truth.add(e);
            if (i >= g.truthDigest.length) {
                g.truthDigest = Arrays.copyOf(g.truthDigest, g.truthDigest.length * 2);
                g.truthNode = Arrays.copyOf(g.truthNode, g.truthNode.length * 2);
            }
            g.truthDigest[i] = digest;
            g.truthNode[i] = r.nodeId;
            g.maxTruthIndex = i;
            if (e.type() == EntryType.CONF_CHANGE) {
                confChangesCommitted++;
            }
            return;
        }
        Entry committed = g.truth.get(i);
        if (!sameEntry(committed, e)) {
            throw r.violation("State Machine Safety: applies %s at index %d, node %d applied %s there",
                    e, i, g.truthNode[i], committed);
        }
        if (digest != g.truthDigest[i]) {
            throw r.violation("State Machine Safety: state after index %d differs from node %d's (digest %x vs %x)",
                    i, g.truthNode[i], digest, g.truthDigest[i]);
        }
    }

    /** After installing a snapshot a leader sent: its last entry and state match the ground truth at its index. */
    void onSnapshotInstalled(SimReplica r, Snapshot s, long digest) {
        snapshotsInstalled++;
        checkSnapshot(r, s, digest);
    }

    private void checkSnapshot(SimReplica r, Snapshot s, long digest) {
        GroupState g = groups[r.groupId];
        long index = s.metadata().index();
        if (index >= g.truth.size()) {
            throw r.violation("restores a snapshot at %d, beyond anything applied anywhere (%d)", index, g.maxTruthIndex);
        }
        Entry committed = g.truth.get((int) index);
        if (committed.term() != s.metadata().term()) {
            throw r.violation("snapshot at index %d has term %d, committed entry there is %s",
                    index, s.metadata().term(), committed);
        }
        if (digest != g.truthDigest[(int) index]) {
            throw r.violation("snapshot at index %d holds a different state than node %d had there",
                    index, g.truthNode[(int) index]);
        }
    }

    /**
     * A replica (re)started from its durable snapshot. The first start of a new group's members
     * enters the bootstrap snapshot into the ground truth; any other must agree with it.
     */
    void onRecovered(SimReplica r, Snapshot s, long digest) {
        GroupState g = groups[r.groupId];
        long index = s.metadata().index();
        if (index == 0) {
            return;
        }
        if (index == g.truth.size()) {
            g.truth.add(new Entry(s.metadata().term(), index, EntryType.NORMAL, new byte[0]));
            g.truthDigest[(int) index] = digest;
            g.truthNode[(int) index] = r.nodeId;
            g.maxTruthIndex = index;
            return;
        }
        checkSnapshot(r, s, digest);
    }

    /** After {@code advance}: the core's applied index is the one the state machine reached. */
    void afterAdvance(SimReplica r) {
        if (r.raft().appliedIndex() != r.lastApplied()) {
            throw r.violation("core reports applied index %d after advance, state machine is at %d",
                    r.raft().appliedIndex(), r.lastApplied());
        }
    }

    private static boolean sameEntry(Entry a, Entry b) {
        return a.index() == b.index() && a.term() == b.term() && a.type() == b.type() && Arrays.equals(a.data(), b.data());
    }

    private static long termOrUnknown(RaftStorage storage, long index) {
        if (index < storage.firstIndex() - 1 || index > storage.lastIndex()) {
            return -1;
        }
        try {
            return storage.term(index);
        } catch (LogCompactedException e) {
            return -1;
        }
    }
}
