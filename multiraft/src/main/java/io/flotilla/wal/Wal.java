package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftStorage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongFunction;

/**
 * A node's shared write-ahead log: one log stream for every Raft group on the node. Opening it locks
 * the directory, scans and verifies every segment, rebuilds every group's {@link WalGroupIndex} and
 * starts the group-commit {@link WalWriter}. Workers submit one {@link WalBatch} per round for all
 * their groups; when a batch is durable they apply it to their groups' indexes
 * ({@link #applyDurable}); {@link #purge} deletes segments whose records are all dead.
 *
 * <p>Threads: {@code open} and {@code close} run on the owner's thread; {@code submit} on any
 * thread; the indexes belong to the workers that own their groups; {@code purge} must run on a
 * thread that may read every index it is given (a single worker, or the runtime after it has
 * collected each worker's {@link WalGroupIndex#oldestLiveSegment()} — see {@link #purgeBelow}).
 *
 * <p>Disk bound: after {@code purge} and a rewrite of every lagging group, the log holds the
 * segments from {@code active - lagSegments} to {@code active}, the preallocated ones ahead, and the
 * rewritten live records of the lagging groups; so disk use is at most
 * {@code (lagSegments + 1 + segmentsAhead) * segmentBytes} plus the live bytes rewritten, which the
 * owner bounds by asking groups with large live logs to snapshot instead of rewriting them.
 */
public final class Wal implements AutoCloseable {
    private final WalFileSystem fs;
    private final WalConfig config;
    private final WalDirectoryLock lock;
    private final WalWriter writer;
    private final WalCacheConfig cacheConfig;
    private final WalCacheBudget budget;
    private final Map<Long, WalGroupIndex> recovered;
    private final WalTombstones recoveredTombstones;
    private final WalRecoveryResult recovery;

    private Wal(WalFileSystem fs, WalConfig config, WalDirectoryLock lock, WalWriter writer, WalCacheConfig cacheConfig,
            WalCacheBudget budget, Map<Long, WalGroupIndex> recovered, WalTombstones recoveredTombstones,
            WalRecoveryResult recovery) {
        this.fs = fs;
        this.config = config;
        this.lock = lock;
        this.writer = writer;
        this.cacheConfig = cacheConfig;
        this.budget = budget;
        this.recovered = recovered;
        this.recoveredTombstones = recoveredTombstones;
        this.recovery = recovery;
    }

    /** Opens (or creates) the log in {@code directory} with default sizes on the real file system. */
    public static Wal open(Path directory, long clusterId, long nodeId) throws IOException {
        WalConfig config = WalConfig.of(directory, clusterId, nodeId);
        return open(new NioWalFileSystem(), config, WalWriterConfig.defaults(config), WalCacheConfig.defaults(),
                WalCacheBudget.UNLIMITED);
    }

    /**
     * Locks the directory, recovers it and starts the writer. Recovery refuses a corrupt log with a
     * {@link WalCorruptionException} naming the file and offset; a torn tail is cut off.
     */
    public static Wal open(WalFileSystem fs, WalConfig config, WalWriterConfig writerConfig, WalCacheConfig cacheConfig,
            WalCacheBudget budget) throws IOException {
        return open(fs, config, writerConfig, cacheConfig, budget, false);
    }

    /**
     * As {@link #open(WalFileSystem, WalConfig, WalWriterConfig, WalCacheConfig, WalCacheBudget)},
     * but the writer runs no threads: batches become durable only when the owner calls
     * {@link #commitQueued} (the deterministic simulation's mode; see {@link WalWriter#startStepped}).
     */
    public static Wal openStepped(WalFileSystem fs, WalConfig config, WalWriterConfig writerConfig,
            WalCacheConfig cacheConfig, WalCacheBudget budget) throws IOException {
        return open(fs, config, writerConfig, cacheConfig, budget, true);
    }

    private static Wal open(WalFileSystem fs, WalConfig config, WalWriterConfig writerConfig, WalCacheConfig cacheConfig,
            WalCacheBudget budget, boolean stepped) throws IOException {
        fs.createDirectories(config.directory());
        WalDirectoryLock lock = fs.lock(config.directory());
        try {
            WalIndexBuilder builder = new WalIndexBuilder(cacheConfig, budget);
            WalRecoveryResult result = new WalRecoveryScanner(fs, config).scan(builder);
            for (WalGroupIndex index : builder.indexes().values()) {
                Check.state(index.compactedTerm() != WalGroupIndex.UNKNOWN_TERM,
                        "group %d: its compaction record is missing from the log", index.groupId());
            }
            WalWriter writer = WalWriter.open(fs, config, writerConfig, result);
            if (stepped) {
                writer.startStepped();
            } else {
                writer.start();
            }
            return new Wal(fs, config, lock, writer, cacheConfig, budget, new HashMap<>(builder.indexes()),
                    builder.tombstones(), result);
        } catch (IOException | RuntimeException e) {
            lock.close();
            throw e;
        }
    }

    public WalConfig config() {
        return config;
    }

    /** What recovery found when the log was opened. */
    public WalRecoveryResult recovery() {
        return recovery;
    }

    /** Group ids that have records in the log as recovered, tombstoned ones excepted ({@link #recoveredTombstones}). */
    public List<Long> recoveredGroups() {
        List<Long> ids = new ArrayList<>(recovered.keySet());
        ids.sort(null);
        return ids;
    }

    /**
     * The groups tombstoned in the log as recovered, with the segment of each one's newest tombstone
     * copy: their replicas must never be hosted again, and purge must keep those copies until the
     * owner writes newer ones. The node's thread splits them among the workers before they start.
     */
    public WalTombstones recoveredTombstones() {
        return recoveredTombstones;
    }

    /**
     * The index of {@code groupId} as recovered, or a new empty one; hand it to the group's owner.
     * Called once per group, by the owner. A tombstoned group's index says so
     * ({@link WalGroupIndex#removed()}): the owner must not host it again.
     */
    public WalGroupIndex takeIndex(long groupId) {
        WalGroupIndex index = recovered.remove(groupId);
        if (index != null) {
            return index;
        }
        index = new WalGroupIndex(groupId, cacheConfig, budget);
        long tombstoneSegment = recoveredTombstones.newestSegment(groupId);
        if (tombstoneSegment > 0) {
            index.apply(new WalRecord.Tombstone(groupId), tombstoneSegment, 0);
        }
        return index;
    }

    /**
     * An empty index for a tombstoned group whose replica is hosted again: apply its REVIVE record
     * to it when durable, then the new replica's records.
     */
    public WalGroupIndex revivedIndex(long groupId) {
        return new WalGroupIndex(groupId, cacheConfig, budget);
    }

    /** A reader of old records for one worker thread (its groups' storages share it). */
    public WalSegmentReader newReader() {
        return new WalSegmentReader(fs, config);
    }

    /** Queues a batch for the next group commit; false if the queue is full (retry next round). */
    public boolean submit(WalBatch batch, WalAppendCallback callback) throws WalFailedException {
        return writer.submit(batch, callback);
    }

    /**
     * The owner's side of a durable batch: applies each record to its group's index with the location
     * the writer gave it, in batch order. {@code indexOf} returns null for groups the caller does not
     * own (their records are applied by their own owners).
     */
    public static void applyDurable(WalBatch batch, LongFunction<WalGroupIndex> indexOf) {
        for (int i = 0; i < batch.size(); i++) {
            WalRecord r = batch.record(i);
            WalGroupIndex index = r.type() == WalRecordType.TOMBSTONE_SET ? null : indexOf.apply(r.groupId());
            if (index != null) {
                index.apply(r, batch.recordSegmentSequence(i), batch.recordOffsetBytes(i), batch.forced());
            }
        }
    }

    /**
     * As {@link #applyDurable(WalBatch, LongFunction)}, and the owner's tombstones learn where each
     * TOMBSTONE and TOMBSTONE_SET record of the batch landed (every record of the batch is the
     * owner's: one worker's batch).
     */
    public static void applyDurable(WalBatch batch, LongFunction<WalGroupIndex> indexOf, WalTombstones tombstones) {
        for (int i = 0; i < batch.size(); i++) {
            WalRecord r = batch.record(i);
            long segment = batch.recordSegmentSequence(i);
            if (r instanceof WalRecord.TombstoneSet set) {
                tombstones.applySet(set, segment);
                continue;
            }
            WalGroupIndex index = indexOf.apply(r.groupId());
            if (index != null) {
                index.apply(r, segment, batch.recordOffsetBytes(i), batch.forced());
            }
            if (r.type() == WalRecordType.TOMBSTONE) {
                tombstones.add(r.groupId(), segment);
            } else if (r.type() == WalRecordType.REVIVE) {
                tombstones.revived(r.groupId());
            }
        }
    }

    /** Stepped mode only (owner thread): one group commit of everything queued, callbacks included; returns the batches. */
    public int commitQueued() {
        return writer.commitQueued();
    }

    /**
     * The segment the writer appends to now (any thread). A batch submitted after this returns lands
     * in this segment or a later one.
     */
    public long activeSegmentSequence() {
        return writer.activeSegmentSequence();
    }

    public WalWriterStats stats() {
        return writer.stats();
    }

    /** From now on, {@code observer} hears of each group commit, on the writer thread (any thread). */
    public void observe(WalObserver observer) {
        writer.observe(observer);
    }

    /**
     * Deletes every segment all of whose records are dead for the given groups (which must be every
     * group with records in the log; a log recovered with tombstoned groups needs
     * {@link #purge(Collection, WalTombstones, int)}), and reports the groups whose oldest live
     * record is more than {@code lagSegments} segments behind the active one.
     */
    public WalPurgeResult purge(Collection<WalGroupIndex> indexes, int lagSegments) throws IOException {
        return purge(indexes, null, lagSegments);
    }

    /**
     * As {@link #purge(Collection, int)}, keeping the newest copy of every tombstone in
     * {@code tombstones} too (null: none). Lagging tombstones are not reported: when
     * {@link WalTombstones#oldestLiveSegment()} lags, write {@link WalTombstones#setRecords}.
     */
    public WalPurgeResult purge(Collection<WalGroupIndex> indexes, WalTombstones tombstones, int lagSegments)
            throws IOException {
        Check.argument(lagSegments >= 0, "lagSegments must be >= 0, was %d", lagSegments);
        long active = writer.activeSegmentSequence();
        long oldestLive = tombstones == null ? active : Math.min(active, tombstones.oldestLiveSegment());
        for (WalGroupIndex index : indexes) {
            oldestLive = Math.min(oldestLive, index.oldestLiveSegment());
        }
        int deleted = purgeBelow(oldestLive);
        List<WalGroupIndex> lagging = new ArrayList<>();
        for (WalGroupIndex index : indexes) {
            if (index.oldestLiveSegment() < active - lagSegments) {
                lagging.add(index);
            }
        }
        lagging.sort(Comparator.comparingLong(WalGroupIndex::oldestLiveSegment).thenComparingLong(WalGroupIndex::groupId));
        return new WalPurgeResult(deleted, oldestLive, lagging.stream().map(WalGroupIndex::groupId).toList());
    }

    /**
     * Deletes the segments below {@code oldestLiveSegment} (never the active one or later), oldest
     * first, then fsyncs the directory. Returns how many were deleted.
     */
    public int purgeBelow(long oldestLiveSegment) throws IOException {
        long limit = Math.min(oldestLiveSegment, writer.activeSegmentSequence());
        List<Long> doomed = new ArrayList<>();
        for (String name : fs.list(config.directory())) {
            long seq = WalSegmentNames.parseSequence(name);
            if (seq >= 0 && seq < limit) {
                doomed.add(seq);
            }
        }
        // Oldest first: a crash part-way leaves a contiguous suffix of segments, which recovery accepts.
        doomed.sort(null);
        for (long seq : doomed) {
            fs.delete(config.directory().resolve(WalSegmentNames.fileName(seq)));
        }
        if (!doomed.isEmpty()) {
            fs.fsyncDirectory(config.directory());
        }
        return doomed.size();
    }

    /**
     * The records that re-establish a lagging group's live state at the head of the log: its
     * compaction point, snapshot mark (with its membership), live entries (in records of at most
     * {@code maxRecordBytes}) and hard state; for a removed group, its tombstone (an owner with many
     * tombstones rewrites them all as one set instead: {@link WalTombstones#setRecords}). Submit them as one batch and apply it when durable; the
     * group's oldest live segment then becomes the active one.
     */
    public static List<WalRecord> rewriteForward(WalGroupIndex index, RaftStorage storage, int maxRecordBytes) {
        long group = index.groupId();
        if (index.removed()) {
            return List.of(new WalRecord.Tombstone(group));
        }
        List<WalRecord> records = new ArrayList<>();
        if (index.revivedWithoutSnapshot()) {
            // Still waiting for its first snapshot, it must not vote after a restart either.
            records.add(new WalRecord.Revive(group));
        }
        // Always, even at 0: dead copies of the group's records may survive a purge in segments
        // other groups keep, and recovery, anchored at them, learns from this point that the
        // rewrite restates the whole log (WalGroupIndex#compactPrefix).
        records.add(new WalRecord.CompactPrefix(group, index.compactedIndex(), index.compactedTerm()));
        if (index.snapshotIndex() > 0) {
            records.add(new WalRecord.SnapshotMark(group, index.snapshotIndex(), index.snapshotTerm(),
                    index.snapshotConfState()));
        }
        long next = index.firstIndex();
        long last = index.lastIndex();
        // Leave room for the record header and per-entry headers.
        long budgetBytes = maxRecordBytes / 2;
        while (next <= last) {
            List<Entry> chunk = storage.entries(next, last + 1, budgetBytes);
            WalRecord.Entries record = new WalRecord.Entries(group, chunk);
            Check.state(WalBatch.recordBytes(record) <= maxRecordBytes, "group %d: entry %d does not fit a record",
                    group, next);
            records.add(record);
            next += chunk.size();
        }
        if (!index.hardState().equals(HardState.EMPTY)) {
            records.add(new WalRecord.HardStateUpdate(group, index.hardState()));
        }
        return records;
    }

    /** Makes everything queued durable, stops the writer and releases the directory lock. */
    @Override
    public void close() throws IOException {
        try {
            writer.close();
        } finally {
            lock.close();
        }
    }
}
