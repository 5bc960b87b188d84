package io.flotilla.bench;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.MemoryStorage;
import io.flotilla.raft.Message;
import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Ready;
import io.flotilla.raft.Role;

import java.util.ArrayList;
import java.util.List;

/**
 * One Raft group of replicas {@code 1..n}, each on a {@link MemoryStorage}, driven in lock-step by
 * one thread over a lossless in-memory network: a round handles one {@link Ready} per replica, then
 * delivers every message that round produced. Writes are "durable" the moment they reach the
 * storage object, so the figures it yields are the cost of the core itself plus this thin harness.
 * Owned by the benchmark thread; not thread-safe.
 *
 * <p>The harness keeps its own allocation small so a {@code -prof gc} figure is mostly the core's:
 * the two message lists are reused, payloads are never copied, and applying an entry only counts it.
 * Each replica snapshots and compacts its storage every {@code compactEveryEntries} applied entries
 * so a long run holds a bounded log.
 *
 * <p>Invariant: each replica applies a contiguous run of indexes ({@code lastAppliedIndex[i] + 1}
 * is the next entry it may apply), checked on every entry.
 */
final class InMemoryGroup {
    private static final byte[] NO_SNAPSHOT_DATA = new byte[0];

    private final RaftNode[] replicas;
    private final MemoryStorage[] storages;
    private final long compactEveryEntries;

    /** Per replica: normal entries with a non-empty payload applied (the leader's no-op is empty). */
    private final long[] appliedProposals;
    /** Per replica: index of the last entry applied, or of the last snapshot installed. */
    private final long[] lastAppliedIndex;
    private final long[] snapshotsInstalled;
    private final long[] compactions;

    /** Messages produced by the current round; swapped with {@link #delivering} at delivery. */
    private ArrayList<Message> inFlight = new ArrayList<>();
    private ArrayList<Message> delivering = new ArrayList<>();
    private long messagesDelivered;

    InMemoryGroup(int replicaCount, long groupId, long compactEveryEntries) {
        if (replicaCount < 1) {
            throw new IllegalArgumentException("a group needs at least one replica, got " + replicaCount);
        }
        if (compactEveryEntries < 1) {
            throw new IllegalArgumentException("compactEveryEntries must be positive, got " + compactEveryEntries);
        }
        long[] ids = new long[replicaCount];
        for (int i = 0; i < replicaCount; i++) {
            ids[i] = i + 1;
        }
        this.replicas = new RaftNode[replicaCount];
        this.storages = new MemoryStorage[replicaCount];
        for (int i = 0; i < replicaCount; i++) {
            storages[i] = MemoryStorage.withMembers(ids);
            replicas[i] = new RaftNode(RaftConfig.defaults(ids[i], groupId), storages[i]);
        }
        this.compactEveryEntries = compactEveryEntries;
        this.appliedProposals = new long[replicaCount];
        this.lastAppliedIndex = new long[replicaCount];
        for (int i = 0; i < replicaCount; i++) {
            // A new group's storage may start from a bootstrap snapshot carrying the membership.
            lastAppliedIndex[i] = storages[i].snapshot().metadata().index();
        }
        this.snapshotsInstalled = new long[replicaCount];
        this.compactions = new long[replicaCount];
    }

    int size() {
        return replicas.length;
    }

    RaftNode replica(int i) {
        return replicas[i];
    }

    long appliedProposals(int i) {
        return appliedProposals[i];
    }

    long snapshotsInstalled(int i) {
        return snapshotsInstalled[i];
    }

    long compactions(int i) {
        return compactions[i];
    }

    long messagesDelivered() {
        return messagesDelivered;
    }

    /**
     * Ticks every replica (settling the group after each tick) until one leads and all others
     * follow it, then settles again so the leader's no-op entry is applied everywhere. Elections go
     * through the real path (PreVote, CheckQuorum, randomized timeouts); no replica is forced.
     */
    RaftNode electLeader(int maxTicks, int maxRoundsPerTick) {
        for (int t = 0; t < maxTicks; t++) {
            for (RaftNode r : replicas) {
                r.tick();
            }
            stabilize(maxRoundsPerTick);
            RaftNode leader = agreedLeader();
            if (leader != null) {
                stabilize(maxRoundsPerTick);
                return leader;
            }
        }
        throw new IllegalStateException("no leader agreed by all " + replicas.length + " replicas after "
                + maxTicks + " ticks: " + describe());
    }

    /** The leader if exactly one replica leads and every other one names it, else null. */
    private RaftNode agreedLeader() {
        RaftNode leader = null;
        for (RaftNode r : replicas) {
            if (r.role() == Role.LEADER) {
                if (leader != null) {
                    return null;
                }
                leader = r;
            }
        }
        if (leader == null) {
            return null;
        }
        for (RaftNode r : replicas) {
            if (r.leader() != leader.id()) {
                return null;
            }
        }
        return leader;
    }

    /**
     * Proposes {@code count} entries on {@code leader}, all sharing {@code payload} (the core never
     * writes a payload), and runs rounds until the leader has applied the last of them. Messages
     * still in flight then (the commit index going out to followers) are delivered in the next
     * call's rounds, as they would be on a loaded group. Returns the index of the last proposal.
     */
    long proposeAndApply(RaftNode leader, byte[] payload, int count, int maxRounds) {
        for (int i = 0; i < count; i++) {
            ProposeResult result = leader.propose(payload);
            if (result != ProposeResult.ACCEPTED) {
                throw new IllegalStateException("proposal " + i + " of " + count + " refused by replica "
                        + leader.id() + ": " + result + "; " + describe());
            }
        }
        long target = leader.lastIndex();
        int rounds = 0;
        while (leader.appliedIndex() < target) {
            if (rounds++ == maxRounds) {
                throw new IllegalStateException("index " + target + " not applied on leader " + leader.id()
                        + " after " + maxRounds + " rounds: " + describe());
            }
            round();
        }
        return target;
    }

    /** Runs rounds until no replica has a Ready and no message is in flight. */
    void stabilize(int maxRounds) {
        for (int i = 0; i < maxRounds; i++) {
            if (!round()) {
                return;
            }
        }
        throw new IllegalStateException("group still busy after " + maxRounds + " rounds: " + describe());
    }

    /** Handles one Ready per replica, then delivers the messages produced. Returns whether anything happened. */
    boolean round() {
        boolean any = false;
        for (int i = 0; i < replicas.length; i++) {
            any |= handleReady(i);
        }
        return deliver() > 0 || any;
    }

    /**
     * Does what a runtime does with a Ready (see its javadoc): send, persist snapshot then entries
     * then hard state, send what waited for persistence, apply, advance. Sending here means queueing
     * for the next delivery, so the two message lists can go out together.
     */
    private boolean handleReady(int i) {
        RaftNode replica = replicas[i];
        if (!replica.hasReady()) {
            return false;
        }
        Ready rd = replica.ready();
        send(rd.messages());
        MemoryStorage storage = storages[i];
        if (rd.snapshot() != null) {
            storage.applySnapshot(rd.snapshot());
            snapshotsInstalled[i]++;
            lastAppliedIndex[i] = rd.snapshot().metadata().index();
        }
        storage.append(rd.entries());
        if (rd.hardState() != null) {
            storage.setHardState(rd.hardState());
        }
        send(rd.messagesAfterPersist());
        apply(i, rd.committedEntries());
        replica.advance(rd);
        maybeCompact(i);
        return true;
    }

    /** Queues messages for the next delivery; indexed, because {@code addAll} copies the list into a fresh array. */
    private void send(List<Message> messages) {
        for (int k = 0, n = messages.size(); k < n; k++) {
            inFlight.add(messages.get(k));
        }
    }

    private void apply(int i, List<Entry> committed) {
        long expected = lastAppliedIndex[i] + 1;
        long proposals = 0;
        for (int k = 0, n = committed.size(); k < n; k++) {
            Entry e = committed.get(k);
            if (e.index() != expected) {
                throw new IllegalStateException("replica " + replicas[i].id() + " asked to apply index " + e.index()
                        + " but the next index to apply is " + expected);
            }
            expected++;
            if (e.type() == EntryType.NORMAL && e.data().length > 0) {
                proposals++;
            }
        }
        lastAppliedIndex[i] = expected - 1;
        appliedProposals[i] += proposals;
    }

    /** Every {@code compactEveryEntries} applied entries: snapshot (empty state) at the applied index and drop the log up to it. */
    private void maybeCompact(int i) {
        MemoryStorage storage = storages[i];
        long applied = replicas[i].appliedIndex();
        if (applied - storage.firstIndex() + 1 < compactEveryEntries) {
            return;
        }
        storage.createSnapshot(applied, replicas[i].confState(), NO_SNAPSHOT_DATA);
        storage.compact(applied);
        compactions[i]++;
    }

    private int deliver() {
        ArrayList<Message> batch = inFlight;
        inFlight = delivering;
        delivering = batch;
        int n = batch.size();
        for (int k = 0; k < n; k++) {
            Message m = batch.get(k);
            int to = (int) m.to - 1;
            if (to < 0 || to >= replicas.length) {
                throw new IllegalStateException("message to unknown replica: " + m);
            }
            replicas[to].step(m);
        }
        batch.clear();
        messagesDelivered += n;
        return n;
    }

    /** One line per replica: role, term, commit, applied, log bounds, applied proposals. */
    String describe() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < replicas.length; i++) {
            RaftNode r = replicas[i];
            b.append("\n  replica ").append(r.id()).append(' ').append(r.role())
                    .append(" term=").append(r.term())
                    .append(" leader=").append(r.leader())
                    .append(" commit=").append(r.commitIndex())
                    .append(" applied=").append(r.appliedIndex())
                    .append(" log=[").append(r.firstIndex()).append(", ").append(r.lastIndex()).append(']')
                    .append(" appliedProposals=").append(appliedProposals[i])
                    .append(" snapshotsInstalled=").append(snapshotsInstalled[i])
                    .append(" compactions=").append(compactions[i]);
        }
        b.append("\n  in flight: ").append(inFlight.size()).append(" messages");
        return b.toString();
    }
}
