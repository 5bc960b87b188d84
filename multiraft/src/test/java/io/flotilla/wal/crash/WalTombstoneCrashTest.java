package io.flotilla.wal.crash;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalFileSystem;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalTombstones;
import io.flotilla.wal.WalWriterConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Crash consistency of tombstones while they are collapsed into sets and their old segments are
 * purged. A seeded workload drives the real {@link Wal} (stepped, on one thread) on a
 * {@link CrashSimFileSystem} as the runtime does: groups are created and written, removed with a
 * TOMBSTONE, live groups compact so that only tombstones hold old segments, a tombstone set
 * (split over several records when it outgrows one) is written whenever they lag, and every commit
 * is followed by a purge. The run is then crashed at every write, force, create, rename, delete and
 * directory-fsync boundary in every {@link CrashMode}, and each image is opened like a restart:
 * every tombstone acknowledged by then must be recovered, none invented, no tombstoned group must
 * come back with an index, and the log must open. Each image is then restarted as the runtime would
 * (purge with the recovered tombstones, write their set, purge again) and opened again: still every
 * tombstone. Some tombstoned groups are hosted again (a REVIVE record, then a new replica's
 * records, as a move brings a range back): once that is acknowledged, every image recovers the
 * group live with the new replica's entry and without its tombstone, before and after the restarts.
 * Prints exactly one summary line.
 */
class WalTombstoneCrashTest {
    private static final int SEEDS = Integer.getInteger("wal.tombstoneCrash.seeds", 6);
    private static final long FIRST_SEED = Long.getLong("wal.tombstoneCrash.firstSeed", 1);
    private static final int ROUNDS = 60;
    private static final Path DIRECTORY = Path.of("/sim/node-5/wal");
    private static final int SEGMENT_BYTES = 4096;
    /** Small records: a set of twenty ids up to 2^30 apart (five-byte varints) takes two. */
    private static final int MAX_RECORD_BYTES = 128;
    private static final int LIVE_GROUPS = 3;
    /** Most problems kept word for word. */
    private static final int MAX_PROBLEMS = 8;

    private final WalWriterConfig writerConfig = new WalWriterConfig(64, 64 << 10, 1);

    private static WalConfig config() {
        return new WalConfig(DIRECTORY, 0x70B, 5, SEGMENT_BYTES, MAX_RECORD_BYTES);
    }

    private Wal open(WalFileSystem fs) throws IOException {
        return Wal.openStepped(fs, config(), writerConfig, WalCacheConfig.defaults(), WalCacheBudget.UNLIMITED);
    }

    /** One seed's run: the file system with its history, and each tombstone's acknowledgement boundary. */
    private record Run(long seed, CrashSimFileSystem fs, TreeMap<Long, Integer> ackedAt, TreeMap<Long, Integer> revivedAt,
            Set<Long> submitted, int setRecords, int multiRecordSets, long segmentsPurged) {
    }

    /** Submits one batch, commits it (stepped), applies it; returns the boundary at which it was acknowledged. */
    private static int commit(Wal wal, CrashSimFileSystem fs, List<WalRecord> records, TreeMap<Long, WalGroupIndex> indexes,
            WalTombstones tombstones) throws IOException {
        WalBatch batch = submit(wal, records);
        wal.commitQueued();
        Wal.applyDurable(batch, indexes::get, tombstones);
        dropTombstoned(batch, indexes);
        return fs == null ? 0 : fs.boundaries();
    }

    private static void dropTombstoned(WalBatch batch, TreeMap<Long, WalGroupIndex> indexes) {
        for (WalRecord r : batch.records()) {
            if (r instanceof WalRecord.Tombstone) {
                indexes.remove(r.groupId());
            }
        }
    }

    /**
     * A durable batch of records of both owners, applied as their workers would: each record to its
     * group's index, each tombstone to its owner's tracker, the sets to {@code setOwner}'s.
     */
    private static void applyToOwners(WalBatch batch, TreeMap<Long, WalGroupIndex> indexes, WalTombstones[] owners,
            WalTombstones setOwner) {
        for (int i = 0; i < batch.size(); i++) {
            WalRecord r = batch.record(i);
            long segment = batch.recordSegmentSequence(i);
            if (r instanceof WalRecord.TombstoneSet set) {
                setOwner.applySet(set, segment);
                continue;
            }
            WalGroupIndex index = indexes.get(r.groupId());
            if (index != null) {
                index.apply(r, segment, batch.recordOffsetBytes(i));
            }
            if (r instanceof WalRecord.Tombstone) {
                owners[owner(r.groupId())].add(r.groupId(), segment);
            } else if (r instanceof WalRecord.Revive) {
                owners[owner(r.groupId())].revived(r.groupId());
            }
        }
        dropTombstoned(batch, indexes);
    }

    /**
     * Two owners, as two workers of a node: each collapses only its own tombstones. Owner 0 removes
     * a fifth as often, so its sets are written at other times than owner 1's and sit in older
     * segments (recovery must not take owner 1's newer set for a newer copy of owner 0's).
     */
    private static int owner(long groupId) {
        return groupId % 5 == 0 ? 0 : 1;
    }

    private static WalBatch submit(Wal wal, List<WalRecord> records) throws IOException {
        WalBatch batch = new WalBatch(records);
        if (!wal.submit(batch, new WalAppendCallback() {
            @Override
            public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
            }

            @Override
            public void onFailed(WalBatch b, WalFailedException error) {
                throw new AssertionError("the log failed a batch", error);
            }
        })) {
            throw new AssertionError("the log's queue refused a batch");
        }
        return batch;
    }

    private Run record(long seed) throws IOException {
        SplittableRandom random = new SplittableRandom(seed);
        CrashSimFileSystem fs = new CrashSimFileSystem(CrashSimFileSystem.Fault.NONE, seed);
        fs.createDirectories(DIRECTORY);
        TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();
        WalTombstones[] owners = {new WalTombstones(), new WalTombstones()};
        TreeMap<Long, Integer> ackedAt = new TreeMap<>();
        TreeMap<Long, Integer> revivedAt = new TreeMap<>();
        Set<Long> submitted = new HashSet<>();
        List<Long> removable = new ArrayList<>();
        long[] last = new long[LIVE_GROUPS + 1];
        long nextGroup = 100;
        int setRecords = 0;
        int multiRecordSets = 0;
        long purged = 0;
        try (Wal wal = open(fs)) {
            for (long g = 1; g <= LIVE_GROUPS; g++) {
                indexes.put(g, wal.takeIndex(g));
            }
            for (int round = 0; round < ROUNDS; round++) {
                List<WalRecord> records = new ArrayList<>();
                // Live groups append and compact to their last entry: they never hold old segments.
                long g = 1 + random.nextInt(LIVE_GROUPS);
                byte[] payload = new byte[20 + random.nextInt(50)];
                random.nextBytes(payload);
                last[(int) g]++;
                records.add(new WalRecord.Entries(g, List.of(Entry.normal(1, last[(int) g], payload))));
                records.add(new WalRecord.HardStateUpdate(g, new HardState(1, 1, last[(int) g])));
                records.add(new WalRecord.CompactPrefix(g, last[(int) g], 1));
                // New groups: a few entries, so their records are dead weight once removed.
                for (int k = random.nextInt(3); k > 0; k--) {
                    long id = nextGroup;
                    nextGroup += 1 + random.nextInt(1 << 30);
                    indexes.put(id, wal.takeIndex(id));
                    records.add(new WalRecord.Entries(id, List.of(Entry.normal(1, 1, payload))));
                    records.add(new WalRecord.HardStateUpdate(id, new HardState(1, 1, 1)));
                    removable.add(id);
                }
                // Removals: one or two tombstones of groups made earlier.
                List<Long> removedNow = new ArrayList<>();
                for (int k = 1 + random.nextInt(2); k > 0 && removable.size() > 2; k--) {
                    long id = removable.remove(random.nextInt(removable.size() - 2));
                    records.add(new WalRecord.Tombstone(id));
                    removedNow.add(id);
                    submitted.add(id);
                }
                // Now and then a group removed earlier is hosted again: REVIVE, then the new replica's records.
                List<Long> revivedNow = new ArrayList<>();
                if (random.nextInt(4) == 0) {
                    for (long id : ackedAt.keySet()) {
                        if (!revivedAt.containsKey(id) && owners[owner(id)].contains(id) && random.nextBoolean()) {
                            owners[owner(id)].revive(id);
                            indexes.put(id, wal.revivedIndex(id));
                            // As a revived replica's first snapshot install writes them, then an entry.
                            records.add(new WalRecord.Revive(id));
                            records.add(new WalRecord.CompactPrefix(id, 1, 2));
                            records.add(new WalRecord.SnapshotMark(id, 1, 2, ConfState.ofVoters(5)));
                            records.add(new WalRecord.Entries(id, List.of(Entry.normal(2, 2, payload))));
                            records.add(new WalRecord.HardStateUpdate(id, new HardState(2, 0, 2)));
                            revivedNow.add(id);
                            break;
                        }
                    }
                }
                WalBatch batch = submit(wal, records);
                wal.commitQueued();
                applyToOwners(batch, indexes, owners, null);
                for (long id : removedNow) {
                    ackedAt.put(id, fs.boundaries());
                }
                for (long id : revivedNow) {
                    revivedAt.put(id, fs.boundaries());
                }
                for (WalTombstones tombstones : owners) {
                    if (tombstones.oldestLiveSegment() >= wal.activeSegmentSequence() - 1) {
                        continue;
                    }
                    // As in the runtime, a removal may be durable but not yet applied while the set is
                    // built (so the set does not list it); a filler group's entries after it push the
                    // set into a later segment, whose purge must not take the removal with it.
                    List<WalBatch> batches = new ArrayList<>();
                    long inFlight = -1;
                    int inFlightAcked = 0;
                    long filler = -1;
                    int mine = tombstones == owners[0] ? 0 : 1;
                    int candidate = removable.size() > 2 && owner(removable.get(0)) == mine ? 0 : 1;
                    if (random.nextBoolean() && removable.size() > 2 && owner(removable.get(candidate)) == mine) {
                        inFlight = removable.remove(candidate);
                        submitted.add(inFlight);
                        filler = nextGroup;
                        nextGroup += 1 + random.nextInt(1 << 30);
                        indexes.put(filler, wal.takeIndex(filler));
                        List<WalRecord> removal = new ArrayList<>();
                        removal.add(new WalRecord.Tombstone(inFlight));
                        int fillerEntries = 20 + random.nextInt(20);
                        for (int i = 1; i <= fillerEntries; i++) {
                            removal.add(new WalRecord.Entries(filler, List.of(Entry.normal(1, i, new byte[64]))));
                        }
                        batches.add(submit(wal, removal));
                        wal.commitQueued();
                        inFlightAcked = fs.boundaries();
                    }
                    List<WalRecord> set = new ArrayList<>();
                    if (filler > 0) {
                        set.add(new WalRecord.Tombstone(filler));
                        submitted.add(filler);
                    }
                    List<WalRecord> setOnly = tombstones.setRecords(MAX_RECORD_BYTES);
                    set.addAll(setOnly);
                    setRecords += setOnly.size();
                    multiRecordSets += setOnly.size() > 1 ? 1 : 0;
                    batches.add(submit(wal, set));
                    wal.commitQueued();
                    int setAcked = fs.boundaries();
                    for (WalBatch b : batches) {
                        applyToOwners(b, indexes, owners, tombstones);
                    }
                    if (inFlight > 0) {
                        ackedAt.put(inFlight, inFlightAcked);
                        ackedAt.put(filler, setAcked);
                    }
                }
                // Revived groups write no more: as the runtime's log sweep does, their records move to
                // the head once they hold old segments (so the segment of their REVIVE is purged in time).
                for (long id : revivedAt.keySet()) {
                    WalGroupIndex index = indexes.get(id);
                    if (index != null && index.oldestLiveSegment() < wal.activeSegmentSequence() - 1) {
                        WalBatch moved = submit(wal, Wal.rewriteForward(index, new WalGroupStorage(index, wal.newReader(), null),
                                MAX_RECORD_BYTES));
                        wal.commitQueued();
                        applyToOwners(moved, indexes, owners, null);
                    }
                }
                // Worker 0's purge, below every owner's oldest live segment (LogPurgeTracker).
                long oldest = wal.activeSegmentSequence();
                for (WalGroupIndex index : indexes.values()) {
                    oldest = Math.min(oldest, index.oldestLiveSegment());
                }
                for (WalTombstones tombstones : owners) {
                    oldest = Math.min(oldest, tombstones.oldestLiveSegment());
                }
                purged += wal.purgeBelow(oldest);
            }
        }
        return new Run(seed, fs, ackedAt, revivedAt, submitted, setRecords, multiRecordSets, purged);
    }

    /** Counts over many crash images; owned by the test thread. */
    private static final class Tally {
        long images;
        long lost;
        long invented;
        long resurrected;
        long refused;
        long revivesLost;
        final List<String> problems = new ArrayList<>();

        void problem(String what) {
            if (problems.size() < MAX_PROBLEMS) {
                problems.add(what);
            }
        }
    }

    private void check(Run run, int boundary, CrashMode mode, Tally tally) {
        tally.images++;
        String where = "seed " + run.seed + ", crash after boundary " + boundary + " (" + run.fs.describe(boundary) + "), " + mode;
        CrashSimFileSystem image = run.fs.crashImage(boundary, mode);
        Set<Long> expected = new HashSet<>();
        Set<Long> revived = new HashSet<>();
        Set<Long> maybeRevived = new HashSet<>();
        run.revivedAt.forEach((id, at) -> (at <= boundary ? revived : maybeRevived).add(id));
        run.ackedAt.forEach((id, at) -> {
            if (at <= boundary && !revived.contains(id) && !maybeRevived.contains(id)) {
                expected.add(id);
            }
        });
        try {
            try (Wal wal = open(image)) {
                WalTombstones recovered = wal.recoveredTombstones();
                compare(recovered, expected, run, where, tally);
                for (long id : wal.recoveredGroups()) {
                    if (recovered.contains(id)) {
                        tally.resurrected++;
                        tally.problem(where + ": group " + id + " is tombstoned and recovered with an index");
                    }
                }
                // A restart, as the runtime's log sweep does it: first the groups move to the head and
                // the log is purged with the recovered tombstones as they are (each at the segment of
                // its newest copy as recovery found it), so only they hold old segments ...
                TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();
                for (long id : wal.recoveredGroups()) {
                    indexes.put(id, wal.takeIndex(id));
                }
                checkRevived(recovered, indexes, revived, where, tally);
                for (WalGroupIndex index : new ArrayList<>(indexes.values())) {
                    commit(wal, null, Wal.rewriteForward(index, new WalGroupStorage(index, wal.newReader(), null),
                            MAX_RECORD_BYTES), indexes, recovered);
                }
                wal.purge(indexes.values(), recovered, 0);
            }
            try (Wal wal = open(image)) {
                WalTombstones recovered = wal.recoveredTombstones();
                compare(recovered, expected, run, where + ", after a restart that purged", tally);
                // ... then the collapse into one set, the groups moved to the head again, and a purge.
                TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();
                for (long id : wal.recoveredGroups()) {
                    indexes.put(id, wal.takeIndex(id));
                }
                checkRevived(recovered, indexes, revived, where + ", after a restart that purged", tally);
                if (!recovered.isEmpty()) {
                    commit(wal, null, recovered.setRecords(MAX_RECORD_BYTES), indexes, recovered);
                }
                for (WalGroupIndex index : new ArrayList<>(indexes.values())) {
                    commit(wal, null, Wal.rewriteForward(index, new WalGroupStorage(index, wal.newReader(), null),
                            MAX_RECORD_BYTES), indexes, recovered);
                }
                wal.purge(indexes.values(), recovered, 0);
            }
            try (Wal wal = open(image)) {
                compare(wal.recoveredTombstones(), expected, run, where + ", after a restart that collapsed and purged", tally);
                TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();
                for (long id : wal.recoveredGroups()) {
                    indexes.put(id, wal.takeIndex(id));
                }
                checkRevived(wal.recoveredTombstones(), indexes, revived, where + ", after a restart that collapsed and purged",
                        tally);
            }
        } catch (IOException | RuntimeException e) {
            tally.refused++;
            tally.problem(where + ": " + e);
        }
    }

    /** Every group whose revival was acknowledged is live, untombstoned, with the new replica's one entry. */
    private static void checkRevived(WalTombstones recovered, TreeMap<Long, WalGroupIndex> indexes, Set<Long> revived,
            String where, Tally tally) {
        for (long id : revived) {
            WalGroupIndex index = indexes.get(id);
            if (recovered.contains(id) || index == null) {
                tally.revivesLost++;
                tally.problem(where + ": group " + id + " was hosted again (acknowledged) but recovers "
                        + (recovered.contains(id) ? "tombstoned" : "with no index"));
                continue;
            }
            if (index.lastIndex() != 2 || index.term(2) != 2 || index.snapshotIndex() != 1) {
                tally.revivesLost++;
                tally.problem(where + ": group " + id + " was hosted again but its log ends at " + index.lastIndex());
            }
        }
    }

    private static void compare(WalTombstones recovered, Set<Long> expected, Run run, String where, Tally tally) {
        for (long id : expected) {
            if (!recovered.contains(id)) {
                tally.lost++;
                tally.problem(where + ": the acknowledged tombstone of group " + id + " is gone");
            }
        }
        for (long id : recovered.sortedGroups()) {
            if (!run.submitted.contains(id)) {
                tally.invented++;
                tally.problem(where + ": group " + id + " is tombstoned but was never removed");
            }
        }
    }

    @Test
    void everyCrashWhileCollapsingAndPurgingKeepsEveryAcknowledgedTombstone() throws Exception {
        Tally tally = new Tally();
        long setRecords = 0;
        long multiRecordSets = 0;
        long purged = 0;
        long tombstones = 0;
        long revivals = 0;
        for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
            Run run = record(seed);
            setRecords += run.setRecords;
            multiRecordSets += run.multiRecordSets;
            purged += run.segmentsPurged;
            tombstones += run.ackedAt.size();
            revivals += run.revivedAt.size();
            for (int b = 0; b <= run.fs.boundaries(); b++) {
                for (CrashMode mode : CrashMode.values()) {
                    check(run, b, mode, tally);
                }
            }
        }
        System.out.printf("wal-tombstone-crash: %d images, %d lost, %d invented, %d resurrected, %d refused, %d revivals lost%n",
                tally.images, tally.lost, tally.invented, tally.resurrected, tally.refused, tally.revivesLost);
        System.out.printf("  (%d seeds: %d tombstones, %d revived, %d set records, %d sets over several records, %d segments purged)%n",
                SEEDS, tombstones, revivals, setRecords, multiRecordSets, purged);
        assertThat(revivals).as("groups hosted again").isGreaterThan((long) SEEDS);
        assertThat(tally.lost + tally.invented + tally.resurrected + tally.refused + tally.revivesLost)
                .withFailMessage("first problems:%n  %s", String.join("\n  ", tally.problems)).isZero();
        assertThat(setRecords).as("sets were written").isGreaterThan(2L * SEEDS);
        assertThat(multiRecordSets).as("sets over several records").isPositive();
        assertThat(purged).as("segments were purged under the tombstones").isGreaterThan(3L * SEEDS);
    }
}
