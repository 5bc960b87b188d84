package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.Ready;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalRecordEncoder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * A worker's log rounds: the Readies of every dirty replica become <b>one</b> {@link WalBatch}
 * (leader appends go to the outbox at once, Raft thesis §10.2.1), preceded by the records that
 * maintenance and replica lifecycle queued (compactions, rewrites forward, bootstraps, tombstones:
 * they describe each group's log as of before this round's Readies, whose records must land after
 * them). When the log says the batch is durable, its round comes back through a queue to the
 * worker, which hands it to the {@link ApplyStage}. A full log queue defers the round: it is
 * offered again next time, and nothing new is collected before it (one worker's batches keep their
 * order). Owned by the worker thread, except the completion callback (the log's completer thread).
 */
final class LogRounds {
    /** A power of two: it sizes the ring of {@link #submittedSegments}. */
    static final int MAX_ROUNDS_IN_FLIGHT = 64;

    /** One round: the replicas and Readies it covers and what to do once its batch is durable. */
    static final class Round implements WalAppendCallback {
        final ArrayList<Replica> replicas = new ArrayList<>();
        final ArrayList<Ready> readies = new ArrayList<>();
        /** Lifecycle and maintenance steps that wait for this round's records (rare; null if none). */
        ArrayList<Runnable> whenDurable;
        WalBatch batch;
        WalFailedException failure;
        private final LogRounds owner;

        Round(LogRounds owner) {
            this.owner = owner;
        }

        @Override
        public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
            // The log's completer thread: hand the round back. The queue has room for every round in flight.
            owner.completions.offer(this);
            owner.wakeWorker.run();
        }

        @Override
        public void onFailed(WalBatch b, WalFailedException error) {
            failure = error;
            owner.completions.offer(this);
            owner.wakeWorker.run();
        }
    }

    private final Wal wal;
    private final int maxRecordBytes;
    private final WorkerStats stats;
    private final Runnable wakeWorker;
    private final OneToOneConcurrentArrayQueue<Round> completions = new OneToOneConcurrentArrayQueue<>(MAX_ROUNDS_IN_FLIGHT);
    /** Records for the front of the next round's batch, and the steps to run once it is durable. */
    private final ArrayList<WalRecord> leading = new ArrayList<>();
    private final ArrayList<Runnable> leadingWhenDurable = new ArrayList<>();
    /** A round the log's full queue refused: offered again before anything new is collected. */
    private Round deferred;
    /** Rounds with nothing to persist (only messages, commits or reads): durable already. */
    private final ArrayList<Round> durableNow = new ArrayList<>();
    /**
     * The active log segment when each round in flight was submitted, oldest first, in a ring from
     * {@link #oldestRoundSlot}: a round's records land in that segment or a later one. The log's
     * writer completes one worker's rounds in the order it submitted them.
     */
    private final long[] submittedSegments = new long[MAX_ROUNDS_IN_FLIGHT];
    private int oldestRoundSlot;
    private int roundsInFlight;

    LogRounds(Wal wal, WorkerStats stats, Runnable wakeWorker) {
        this.wal = wal;
        this.maxRecordBytes = wal.config().maxRecordBytes();
        this.stats = stats;
        this.wakeWorker = wakeWorker;
    }

    /** Queues records for the front of the next batch; {@code whenDurable} (may be null) runs once they are durable. */
    void addLeading(List<WalRecord> records, Runnable whenDurable) {
        leading.addAll(records);
        if (whenDurable != null) {
            leadingWhenDurable.add(whenDurable);
        }
    }

    /** A replica goes away: records queued for it must not follow its tombstone into the log. */
    void dropLeading(long groupId) {
        if (!leading.isEmpty()) {
            leading.removeIf(record -> record.groupId() == groupId);
        }
    }

    boolean busy() {
        return roundsInFlight > 0 || deferred != null;
    }

    /**
     * The segment below which no record of a round in flight can land (records of a round land in
     * the segment active when it was submitted, or later).
     */
    long oldestSegmentInFlight(long active) {
        return roundsInFlight > 0 ? Math.min(active, submittedSegments[oldestRoundSlot]) : active;
    }

    /**
     * Takes the Ready of every dirty replica that has none in flight, sends what may go now, and
     * submits one batch for all of them. Returns the work done (0: nothing).
     */
    int collectAndSubmit(ReplicaSet replicas, Outbox outbox) {
        int work = 0;
        if (deferred != null) {
            if (!submit(deferred)) {
                return 0;
            }
            deferred = null;
            work = 1;
        }
        ArrayList<Replica> dirty = replicas.dirty();
        if ((dirty.isEmpty() && leading.isEmpty()) || roundsInFlight >= MAX_ROUNDS_IN_FLIGHT - 1) {
            return work;
        }
        Round round = new Round(this);
        List<WalRecord> records = new ArrayList<>(leading);
        boolean mustForce = !leading.isEmpty();
        leading.clear();
        if (!leadingWhenDurable.isEmpty()) {
            round.whenDurable = new ArrayList<>(leadingWhenDurable);
            leadingWhenDurable.clear();
        }
        int kept = 0;
        for (int i = 0; i < dirty.size(); i++) {
            Replica r = dirty.get(i);
            if (r.destroyed) {
                r.dirty = false;
                continue;
            }
            if (r.outstanding != null) {
                // Still being persisted; look again when its round completes.
                dirty.set(kept++, r);
                continue;
            }
            r.dirty = false;
            if (!r.node.hasReady()) {
                // A step that changed nothing to persist or send may still have moved what the view
                // shows (a leader's match index of a peer, which a move's promotion waits on).
                r.view.publish(r.node);
                continue;
            }
            Ready rd = r.node.ready();
            r.outstanding = rd;
            if (!rd.entries().isEmpty()) {
                r.handedIndex = Math.max(r.handedIndex, rd.entries().get(rd.entries().size() - 1).index());
            }
            outbox.queue(rd.messages());
            round.replicas.add(r);
            round.readies.add(rd);
            mustForce |= mustForce(r, rd);
            addRecords(r, rd, records);
        }
        replicas.keepDirty(kept);
        outbox.flush();
        if (round.replicas.isEmpty() && records.isEmpty()) {
            return work;
        }
        if (records.isEmpty()) {
            durableNow.add(round);
            return 1;
        }
        round.batch = new WalBatch(records, mustForce);
        if (!submit(round)) {
            deferred = round;
        }
        return 1;
    }

    /**
     * False when the Ready's only record is a hard state that moved the commit index alone: like
     * etcd, the log forces for entries, snapshots, term and vote, not for commit. Losing such a
     * record in a crash loses nothing: every entry the state machine applied was committed, so
     * the replica restarts with the commit index raised to what its state machine holds
     * ({@link io.flotilla.raft.RaftNode}), and the leader tells it the rest. Its messages may go as
     * well: they acknowledge only entries, term and vote that are already forced. This takes one
     * of the two forces off a write's path on the leader (entries, then commit).
     */
    private static boolean mustForce(Replica r, Ready rd) {
        if (rd.snapshot() != null || !rd.entries().isEmpty()) {
            return true;
        }
        HardState next = rd.hardState();
        if (next == null) {
            return false;
        }
        HardState persisted = r.index.hardState();
        return next.term() != persisted.term() || next.vote() != persisted.vote();
    }

    private void addRecords(Replica r, Ready rd, List<WalRecord> records) {
        long groupId = r.groupId;
        if (rd.snapshot() != null) {
            // A received snapshot replaces the whole log: compact to it, drop any suffix, mark it.
            SnapshotMetadata meta = rd.snapshot().metadata();
            long at = meta.index();
            WalGroupIndex index = r.index;
            boolean keepsSuffix = at > index.compactedIndex() && at < index.lastIndex() && index.term(at) == meta.term();
            records.add(new WalRecord.CompactPrefix(groupId, at, meta.term()));
            if (keepsSuffix) {
                records.add(new WalRecord.TruncateSuffix(groupId, at + 1));
            }
            records.add(new WalRecord.SnapshotMark(groupId, at, meta.term(), meta.confState()));
        }
        List<Entry> entries = rd.entries();
        if (!entries.isEmpty()) {
            // Proposals are checked against the record size, but a Ready may carry many entries.
            records.addAll(WalRecordEncoder.entriesRecords(groupId, entries, maxRecordBytes));
        }
        if (rd.hardState() != null) {
            records.add(new WalRecord.HardStateUpdate(groupId, rd.hardState()));
        }
    }

    /** Offers the round's batch to the log; false if its queue is full (the round waits). */
    private boolean submit(Round round) {
        long segment = wal.activeSegmentSequence();
        boolean accepted;
        try {
            accepted = wal.submit(round.batch, round);
        } catch (WalFailedException e) {
            throw new IllegalStateException("the write-ahead log failed; the node stops", e);
        }
        if (!accepted) {
            stats.deferredBatches++;
            return false;
        }
        Check.state(roundsInFlight < MAX_ROUNDS_IN_FLIGHT, "%d rounds in flight", roundsInFlight);
        submittedSegments[(oldestRoundSlot + roundsInFlight) & (MAX_ROUNDS_IN_FLIGHT - 1)] = segment;
        roundsInFlight++;
        stats.logBatches++;
        return true;
    }

    /** Hands every round that is durable now to {@code apply}, in the order they became durable; returns how many. */
    int drainDurable(Consumer<Round> apply) {
        int n = 0;
        Round round;
        while ((round = completions.poll()) != null) {
            roundsInFlight--;
            oldestRoundSlot = (oldestRoundSlot + 1) & (MAX_ROUNDS_IN_FLIGHT - 1);
            apply.accept(round);
            n++;
        }
        for (int i = 0; i < durableNow.size(); i++) {
            apply.accept(durableNow.get(i));
            n++;
        }
        durableNow.clear();
        return n;
    }

    boolean completionsEmpty() {
        return completions.isEmpty();
    }
}
