package io.flotilla.sim;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.MemoryStorage;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import io.flotilla.wal.WalPurgeResult;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalSegmentReader;
import io.flotilla.wal.WalSnapshotSource;
import io.flotilla.wal.WalWriterConfig;
import io.flotilla.wal.WalWriterStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One simulated node's real shared write-ahead log: a {@link Wal} in the node's own directory,
 * shared by the node's replicas of every group (one log stream, as in production), and the small
 * store of state machine snapshots that the log's snapshot marks refer to (the
 * {@link WalSnapshotSource}; it survives a crash like the log does). A mark carries the group's
 * membership at the snapshot, so after a restart the membership comes from the log alone; the store
 * only supplies the snapshot to send, and must agree with the mark.
 *
 * <p>Every write is one {@link WalBatch}, submitted and waited for inside the simulated event that
 * makes it durable; so the log's writer thread, the only real concurrency, never changes the order
 * of simulated events, which stays a function of the seed. A crash closes the log (everything
 * acknowledged is already durable; the outstanding Ready was never written); a restart reopens it,
 * which recovers every group's index from the segment files, and checks that recovery rebuilt
 * exactly what the live log held. After each snapshot the node purges dead segments and rewrites
 * lagging groups forward, so recovery after purge is exercised too.
 *
 * <p>Owned by the single thread that runs the seed; the log's own writer and preallocator threads
 * touch only the log.
 */
final class SimWalNode implements WalSnapshotSource {
    /** Small segments, so that rollovers, purges and recovery after a purge happen in most seeds. */
    static final int SEGMENT_BYTES = 64 << 10;
    static final int MAX_RECORD_BYTES = 16 << 10;
    /** Payload per ENTRIES record: half a record leaves room for the record and entry headers. */
    private static final long ENTRY_BYTES_PER_RECORD = MAX_RECORD_BYTES / 2;
    /** A group whose oldest live record is more than this many segments behind is rewritten forward. */
    private static final int LAG_SEGMENTS = 1;
    /** Small caches, so that the core's reads of older entries often go to the segment files. */
    private static final WalCacheConfig CACHE = new WalCacheConfig(32, 8 << 10);
    private static final long CACHE_BUDGET_BYTES = 32 << 10;
    /** A durable callback later than this means the writer is stuck: the run fails rather than hangs. */
    private static final long WAIT_SECONDS = 30;

    private final SimCluster cluster;
    private final int nodeId;
    private final WalConfig config;
    private final WalWriterConfig writerConfig;
    /** groups[g] for group g; index 0 unused. */
    private final GroupStorage[] groups;
    /** snapshots[g]: the latest snapshot of group g's state machine (null: none yet). */
    private final Snapshot[] snapshots;
    /** images[g]: what group g's index held when the log was last closed by a crash; null before. */
    private final GroupImage[] images;
    /** Null while the node is down. */
    private Wal wal;
    private WalSegmentReader reader;
    private boolean bootstrapped;

    private long batches;
    private long recoveries;
    private long purgedSegments;
    private long rewrites;
    private long closedForces;
    private long closedBytes;
    private long closedRollovers;
    private long closedDiskReads;

    /** Everything a group's recovered index must reproduce, entries included (by hash). */
    private record GroupImage(long firstIndex, long lastIndex, long compactedTerm, HardState hardState,
            long snapshotIndex, long snapshotTerm, ConfState snapshotConfState, long entriesHash) {
    }

    SimWalNode(SimCluster cluster, int nodeId, Path directory) {
        this.cluster = cluster;
        this.nodeId = nodeId;
        this.config = new WalConfig(directory, cluster.config().seed(), nodeId, SEGMENT_BYTES, MAX_RECORD_BYTES);
        this.writerConfig = new WalWriterConfig(16, 64 << 10, 1);
        int groupCount = cluster.config().groupCount();
        this.groups = new GroupStorage[groupCount + 1];
        this.snapshots = new Snapshot[groupCount + 1];
        this.images = new GroupImage[groupCount + 1];
        for (int g = 1; g <= groupCount; g++) {
            groups[g] = new GroupStorage(g);
        }
    }

    /** Group {@code groupId}'s storage; the same object across restarts. */
    SimStorage group(int groupId) {
        return groups[groupId];
    }

    /**
     * Opens (and recovers) the log. The first open of an initial member writes each group's
     * bootstrap state, as {@link MemoryStorage#withMembers} does; a later one checks that recovery
     * rebuilt every group exactly as the log held it at the crash.
     */
    void open() {
        try {
            wal = Wal.open(new NioWalFileSystem(), config, writerConfig, CACHE, new WalCacheBudget(CACHE_BUDGET_BYTES));
        } catch (IOException e) {
            throw new UncheckedIOException("node " + nodeId + ": opening the log in " + config.directory() + " failed", e);
        }
        reader = wal.newReader();
        for (int g = 1; g < groups.length; g++) {
            groups[g].storage = new WalGroupStorage(wal.takeIndex(g), reader, this);
        }
        if (!wal.recoveredGroups().isEmpty()) {
            throw violation("the log holds records of groups %s, which this node does not host", wal.recoveredGroups());
        }
        if (!bootstrapped) {
            bootstrapped = true;
            if (nodeId <= cluster.config().initialVoters()) {
                bootstrap();
            }
            return;
        }
        recoveries++;
        for (int g = 1; g < groups.length; g++) {
            GroupImage recovered = image(g);
            if (!recovered.equals(images[g])) {
                throw violation("group %d: recovery rebuilt %s, but the log held %s when it closed", g, recovered, images[g]);
            }
        }
    }

    /** The initial membership as a snapshot of the empty state at the bootstrap index, for every group in one batch. */
    private void bootstrap() {
        long[] voters = new long[cluster.config().initialVoters()];
        for (int i = 0; i < voters.length; i++) {
            voters[i] = i + 1;
        }
        long index = MemoryStorage.BOOTSTRAP_INDEX;
        long term = MemoryStorage.BOOTSTRAP_TERM;
        List<WalRecord> records = new ArrayList<>();
        for (int g = 1; g < groups.length; g++) {
            snapshots[g] = new Snapshot(new SnapshotMetadata(index, term, ConfState.ofVoters(voters)), new byte[0]);
            records.add(new WalRecord.CompactPrefix(g, index, term));
            records.add(new WalRecord.SnapshotMark(g, index, term, snapshots[g].metadata().confState()));
            records.add(new WalRecord.HardStateUpdate(g, new HardState(term, 0, index)));
        }
        write(records);
    }

    /**
     * Closes the log. On a crash ({@code remember}), first notes what every group's index holds, for
     * the check after recovery; at the end of a run, just releases the directory.
     */
    void close(boolean remember) {
        if (wal == null) {
            return;
        }
        try {
            for (int g = 1; g < groups.length; g++) {
                if (remember) {
                    images[g] = image(g);
                }
                closedDiskReads += groups[g].storage.diskReads();
                groups[g].storage = null;
            }
            WalWriterStats s = wal.stats();
            closedForces += s.forces();
            closedBytes += s.bytes();
            closedRollovers += s.rollovers();
        } finally {
            Wal closing = wal;
            wal = null;
            try (closing; WalSegmentReader r = reader) {
                reader = null;
            } catch (IOException e) {
                throw new UncheckedIOException("node " + nodeId + ": closing the log failed", e);
            }
        }
    }

    /** Counters of this node's log over the run so far (logs closed by crashes included). */
    SimWalStats stats() {
        long forces = closedForces;
        long bytes = closedBytes;
        long rollovers = closedRollovers;
        long diskReads = closedDiskReads;
        if (wal != null) {
            WalWriterStats s = wal.stats();
            forces += s.forces();
            bytes += s.bytes();
            rollovers += s.rollovers();
            for (int g = 1; g < groups.length; g++) {
                diskReads += groups[g].storage.diskReads();
            }
        }
        return new SimWalStats(batches, forces, bytes, rollovers, purgedSegments, rewrites, recoveries, diskReads);
    }

    private GroupImage image(int groupId) {
        WalGroupStorage s = groups[groupId].storage;
        WalGroupIndex index = s.index();
        long hash = 1;
        if (s.lastIndex() >= s.firstIndex()) {
            for (Entry e : s.entries(s.firstIndex(), s.lastIndex() + 1, Long.MAX_VALUE)) {
                hash = hash * 31 + e.index();
                hash = hash * 31 + e.term();
                hash = hash * 31 + e.type().ordinal();
                hash = hash * 31 + Arrays.hashCode(e.data());
            }
        }
        return new GroupImage(s.firstIndex(), s.lastIndex(), s.term(s.firstIndex() - 1), s.initialHardState(),
                index.snapshotIndex(), index.snapshotTerm(), s.initialConfState(), hash);
    }

    /** Submits one batch, waits until it is durable, then applies it to the groups' indexes. */
    private void write(List<WalRecord> records) {
        WalBatch batch = new WalBatch(records);
        CompletableFuture<WalFailedException> done = new CompletableFuture<>();
        boolean accepted;
        try {
            accepted = wal.submit(batch, new WalAppendCallback() {
                @Override
                public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
                    done.complete(null);
                }

                @Override
                public void onFailed(WalBatch b, WalFailedException error) {
                    done.complete(error);
                }
            });
        } catch (WalFailedException e) {
            throw new IllegalStateException("node " + nodeId + ": the log has failed", e);
        }
        if (!accepted) {
            throw new IllegalStateException("node " + nodeId + ": the log's queue refused a batch with nothing else queued");
        }
        WalFailedException failure;
        try {
            failure = done.get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("node " + nodeId + ": interrupted while waiting for a log write", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("node " + nodeId + ": a batch of " + records.size() + " records was not durable within "
                    + WAIT_SECONDS + " s", e);
        }
        if (failure != null) {
            throw new IllegalStateException("node " + nodeId + ": a log write failed", failure);
        }
        Wal.applyDurable(batch, g -> groups[(int) g].storage.index());
        batches++;
    }

    /** Deletes dead segments; rewrites the live records of groups holding old segments back to the head of the log. */
    private void purge() {
        List<WalGroupIndex> indexes = new ArrayList<>();
        for (int g = 1; g < groups.length; g++) {
            indexes.add(groups[g].storage.index());
        }
        WalPurgeResult result;
        try {
            result = wal.purge(indexes, LAG_SEGMENTS);
        } catch (IOException e) {
            throw new UncheckedIOException("node " + nodeId + ": purging the log failed", e);
        }
        purgedSegments += result.deletedSegments();
        for (long g : result.laggingGroups()) {
            WalGroupStorage storage = groups[(int) g].storage;
            List<WalRecord> records = Wal.rewriteForward(storage.index(), storage, MAX_RECORD_BYTES);
            if (!records.isEmpty()) {
                write(records);
                rewrites++;
            }
        }
    }

    /**
     * The stored snapshot of the group, which must be the one the log's latest mark describes (index,
     * term and membership): the store and the log are written together, so any difference is a bug.
     */
    @Override
    public Snapshot snapshot(long groupId, SnapshotMetadata latestMark) {
        if (latestMark == null) {
            return null; // never compacted: the simulated core never asks for a snapshot then
        }
        Snapshot s = snapshots[(int) groupId];
        if (s == null || !s.metadata().equals(latestMark)) {
            throw violation("group %d: the log marks a snapshot at %s, the snapshot store holds %s",
                    groupId, latestMark, s == null ? "none" : s.metadata());
        }
        return s;
    }

    private SimViolation violation(String format, Object... args) {
        return new SimViolation(cluster.scheduler().nowUs(), "node " + nodeId + " WAL: " + String.format(format, args));
    }

    /** One group of this node's log as a replica's durable storage. Owned like the node. */
    final class GroupStorage implements SimStorage {
        private final int groupId;
        /** This incarnation's view of the group; null while the node is down. */
        private WalGroupStorage storage;

        GroupStorage(int groupId) {
            this.groupId = groupId;
        }

        @Override
        public RaftStorage raft() {
            return storage;
        }

        @Override
        public long snapshotIndex() {
            return storage.index().snapshotIndex();
        }

        /**
         * One batch: for a snapshot newer than the latest, a compaction to it and its mark (and, should
         * the log hold a matching suffix past it, a truncation, since a received snapshot replaces the
         * whole log as in {@link MemoryStorage#applySnapshot}); the entries, whose ENTRIES record itself
         * overwrites any conflicting suffix; the hard state.
         */
        @Override
        public void persist(Snapshot snapshot, List<Entry> entries, HardState hardState) {
            WalGroupIndex index = storage.index();
            List<WalRecord> records = new ArrayList<>();
            if (snapshot != null && snapshot.metadata().index() > index.snapshotIndex()) {
                long at = snapshot.metadata().index();
                long term = snapshot.metadata().term();
                boolean keepsSuffix = at > index.compactedIndex() && at < index.lastIndex() && index.term(at) == term;
                snapshots[groupId] = snapshot;
                records.add(new WalRecord.CompactPrefix(groupId, at, term));
                if (keepsSuffix) {
                    records.add(new WalRecord.TruncateSuffix(groupId, at + 1));
                }
                records.add(new WalRecord.SnapshotMark(groupId, at, term, snapshot.metadata().confState()));
            }
            addEntries(records, entries);
            if (hardState != null) {
                records.add(new WalRecord.HardStateUpdate(groupId, hardState));
            }
            if (!records.isEmpty()) {
                write(records);
            }
        }

        private void addEntries(List<WalRecord> records, List<Entry> entries) {
            int from = 0;
            long bytes = 0;
            for (int i = 0; i < entries.size(); i++) {
                long size = entries.get(i).sizeBytes();
                if (i > from && bytes + size > ENTRY_BYTES_PER_RECORD) {
                    records.add(new WalRecord.Entries(groupId, entries.subList(from, i)));
                    from = i;
                    bytes = 0;
                }
                bytes += size;
            }
            if (from < entries.size()) {
                records.add(new WalRecord.Entries(groupId, entries.subList(from, entries.size())));
            }
        }

        /** The snapshot goes to the node's store, its mark and the compaction to the log; then a purge. */
        @Override
        public void snapshotAndCompact(long index, ConfState confState, byte[] data, long compactTo) {
            WalGroupIndex walIndex = storage.index();
            if (index <= walIndex.snapshotIndex() || index > walIndex.lastIndex()) {
                throw new IllegalArgumentException(String.format("group %d: snapshot at %d is not newer than %d or beyond last index %d",
                        groupId, index, walIndex.snapshotIndex(), walIndex.lastIndex()));
            }
            long term = storage.term(index);
            snapshots[groupId] = new Snapshot(new SnapshotMetadata(index, term, confState), data);
            List<WalRecord> records = new ArrayList<>();
            records.add(new WalRecord.SnapshotMark(groupId, index, term, confState));
            if (compactTo >= walIndex.firstIndex()) {
                records.add(new WalRecord.CompactPrefix(groupId, compactTo, storage.term(compactTo)));
            }
            write(records);
            purge();
        }
    }
}
