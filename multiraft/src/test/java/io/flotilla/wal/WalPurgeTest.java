package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Purge of dead segments, lagging groups rewritten forward, and recovery after purge. */
class WalPurgeTest {
    private static final int SEGMENT_BYTES = 64 << 10;
    private static final WalSnapshotSource SNAPSHOTS =
            (groupId, latestMark) -> new io.flotilla.raft.Snapshot(latestMark, new byte[0]);
    /** The membership group 10 marks before it goes idle: it must outlive the rewrite, the purge and a restart. */
    private static final ConfState IDLE_CONF = new ConfState(new long[] {1, 2, 3}, new long[] {10});

    /** A membership that differs with every compaction round, so a stale mark would show. */
    private static ConfState confAt(int round) {
        return new ConfState(new long[] {1, 2, 3 + round}, round % 100 == 0 ? new long[0] : new long[] {1000 + round});
    }

    @TempDir
    Path dir;

    private final TreeMap<Long, WalGroupIndex> indexes = new TreeMap<>();

    private Wal open() throws IOException {
        WalConfig config = new WalConfig(dir, 7, 1, SEGMENT_BYTES, 16 << 10);
        return Wal.open(new NioWalFileSystem(), config, new WalWriterConfig(64, 64 << 10, 1), WalCacheConfig.defaults(),
                new WalCacheBudget(1 << 20));
    }

    /** Submits one batch and applies it to the indexes once durable. */
    private void write(Wal wal, List<WalRecord> records) throws Exception {
        write(wal, records, true);
    }

    private void write(Wal wal, List<WalRecord> records, boolean forced) throws Exception {
        WalBatch batch = new WalBatch(records, forced);
        CompletableFuture<Void> done = new CompletableFuture<>();
        assertThat(wal.submit(batch, new WalAppendCallback() {
            @Override
            public void onDurable(WalBatch b, long segmentSequence, long endOffsetBytes) {
                done.complete(null);
            }

            @Override
            public void onFailed(WalBatch b, WalFailedException error) {
                done.completeExceptionally(error);
            }
        })).isTrue();
        done.get(30, TimeUnit.SECONDS);
        Wal.applyDurable(batch, indexes::get);
    }

    private long segmentFiles() throws IOException {
        return segmentSequences().size();
    }

    private List<Long> segmentSequences() throws IOException {
        return new NioWalFileSystem().list(dir).stream().map(WalSegmentNames::parseSequence).filter(seq -> seq >= 0)
                .toList();
    }

    /**
     * A hard state written without a force of its own may vanish in a crash; the forced one before
     * it (the group's term and vote) must then still be in the log, so its segment stays live.
     */
    @Test
    void anUnforcedHardStateKeepsTheSegmentOfTheLastForcedOneLive() throws Exception {
        byte[] payload = new byte[4000];
        try (Wal wal = open()) {
            indexes.put(1L, wal.takeIndex(1));
            indexes.put(2L, wal.takeIndex(2));
            write(wal, List.of(new WalRecord.Entries(1, List.of(Entry.normal(5, 1, payload))),
                    new WalRecord.HardStateUpdate(1, new HardState(5, 3, 0))));
            write(wal, List.of(new WalRecord.CompactPrefix(1, 1, 5)));
            long forcedSegment = wal.activeSegmentSequence();
            for (int i = 1; i <= 60; i++) {
                write(wal, List.of(new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(2, new HardState(1, 2, i - 1))));
                write(wal, List.of(new WalRecord.CompactPrefix(2, i, 1)));
            }
            // Group 1's compaction record moves on (forced); only its hard state stays behind.
            write(wal, List.of(new WalRecord.CompactPrefix(1, 1, 5)));
            write(wal, List.of(new WalRecord.HardStateUpdate(1, new HardState(5, 3, 1))), false);
            assertThat(wal.activeSegmentSequence()).as("the group's records span segments").isGreaterThan(forcedSegment + 1);
            assertThat(indexes.get(1L).hardState()).isEqualTo(new HardState(5, 3, 1));

            wal.purge(indexes.values(), 0);
            assertThat(dir.resolve(WalSegmentNames.fileName(forcedSegment)))
                    .as("the segment of group 1's last forced hard state").exists();
            assertThat(indexes.get(1L).oldestLiveSegment()).isLessThanOrEqualTo(forcedSegment);
        }
    }

    @Test
    void deadSegmentsAreDeletedAnIdleGroupHoldsThemBackUntilRewrittenAndRecoverySeesTheSameLog() throws Exception {
        byte[] payload = new byte[400];
        try (Wal wal = open()) {
            for (long g = 1; g <= 10; g++) {
                indexes.put(g, wal.takeIndex(g));
            }
            long[] last = new long[11];
            for (int round = 1; round <= 400; round++) {
                List<WalRecord> records = new ArrayList<>();
                for (long g = 1; g <= 10; g++) {
                    if (g == 10 && round > 5) {
                        continue; // group 10 goes idle early: its old records hold segment 1 back
                    }
                    last[(int) g]++;
                    records.add(new WalRecord.Entries(g, List.of(Entry.normal(2, last[(int) g], payload))));
                    records.add(new WalRecord.HardStateUpdate(g, new HardState(2, 1, last[(int) g] - 1)));
                    if (round % 50 == 0) {
                        records.add(new WalRecord.SnapshotMark(g, last[(int) g] - 3, 2, confAt(round)));
                        records.add(new WalRecord.CompactPrefix(g, last[(int) g] - 3, 2));
                    }
                    if (g == 10 && round == 5) {
                        records.add(new WalRecord.SnapshotMark(g, 3, 2, IDLE_CONF));
                    }
                }
                write(wal, records);
            }
            assertThat(wal.stats().rollovers()).isGreaterThan(5);

            WalPurgeResult first = wal.purge(indexes.values(), 1);
            assertThat(first.deletedSegments()).as("group 10 still needs segment 1").isZero();
            assertThat(first.laggingGroups()).containsExactly(10L);

            WalGroupIndex idle = indexes.get(10L);
            assertThat(idle.snapshotConfState()).isEqualTo(IDLE_CONF);
            WalGroupStorage storage = new WalGroupStorage(idle, wal.newReader(), SNAPSHOTS);
            List<WalRecord> rewrite = Wal.rewriteForward(idle, storage, wal.config().maxRecordBytes());
            assertThat(rewrite).contains(new WalRecord.SnapshotMark(10, 3, 2, IDLE_CONF));
            write(wal, rewrite);

            WalPurgeResult second = wal.purge(indexes.values(), 1);
            assertThat(second.deletedSegments()).isPositive();
            assertThat(second.laggingGroups()).isEmpty();
            // Counted below the oldest kept segment only: the preallocator may add one ahead meanwhile.
            assertThat(segmentSequences()).as("every segment below the oldest kept one is gone").allMatch(
                    seq -> seq >= second.oldestKeptSegment());
            assertThat(second.oldestKeptSegment() - 1).as("segments 1.. below the oldest kept one were all deleted")
                    .isEqualTo(second.deletedSegments());
            assertThat(segmentFiles()).as("active, the one behind it, one preallocated").isLessThanOrEqualTo(4);
            assertThat(dir.resolve(WalSegmentNames.fileName(1))).as("the segment of group 10's original mark").doesNotExist();
            assertThat(indexes.get(1L).snapshotConfState()).isEqualTo(confAt(400));
        }
        Snapshot expected = Snapshot.of(indexes, dir);
        indexes.clear();
        try (Wal wal = open()) {
            assertThat(wal.recoveredGroups()).hasSize(10);
            for (long g = 1; g <= 10; g++) {
                indexes.put(g, wal.takeIndex(g));
            }
            assertThat(Snapshot.of(indexes, dir)).isEqualTo(expected);
            try (WalSegmentReader reader = wal.newReader()) {
                WalGroupStorage idle = new WalGroupStorage(indexes.get(10L), reader, SNAPSHOTS);
                assertThat(idle.initialConfState()).as("group 10's membership, from its rewritten mark alone")
                        .isEqualTo(IDLE_CONF);
                assertThat(idle.snapshot().metadata()).isEqualTo(new io.flotilla.raft.SnapshotMetadata(3, 2, IDLE_CONF));
            }
            assertThat(indexes.get(1L).snapshotConfState()).isEqualTo(confAt(400));
            // The log keeps working after a purged restart.
            write(wal, List.of(new WalRecord.Entries(10, List.of(Entry.normal(3, indexes.get(10L).lastIndex() + 1, payload)))));
            assertThat(indexes.get(10L).lastIndex()).isEqualTo(6);
        }
    }

    @Test
    void aTombstoneOutlivesRestartsAndPurgeAndOnlyItStaysLive() throws Exception {
        byte[] payload = new byte[400];
        try (Wal wal = open()) {
            indexes.put(1L, wal.takeIndex(1));
            indexes.put(2L, wal.takeIndex(2));
            for (long i = 1; i <= 300; i++) {
                write(wal, List.of(new WalRecord.Entries(1, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(2, new HardState(1, 1, i))));
            }
            write(wal, List.of(new WalRecord.Tombstone(1)));
            assertThat(indexes.get(1L).removed()).isTrue();
            assertThat(indexes.get(1L).lastIndex()).isZero();
            write(wal, List.of(new WalRecord.CompactPrefix(2, 299, 1)));
            WalPurgeResult purge = wal.purge(indexes.values(), 1);
            assertThat(purge.laggingGroups()).as("only the tombstone of group 1 is live, in a recent segment").isEmpty();
            assertThat(purge.deletedSegments()).isPositive();
            assertThat(Wal.rewriteForward(indexes.get(1L), null, wal.config().maxRecordBytes()))
                    .containsExactly(new WalRecord.Tombstone(1));
        }
        indexes.clear();
        try (Wal wal = open()) {
            assertThat(wal.takeIndex(1).removed()).as("the tombstone survives the restart and the purge").isTrue();
            WalGroupIndex two = wal.takeIndex(2);
            assertThat(two.removed()).isFalse();
            assertThat(two.lastIndex()).isEqualTo(300);
        }
    }

    @Test
    void aTombstoneRewrittenForwardMovesAndTheOldOneIsPurged() throws Exception {
        byte[] payload = new byte[400];
        try (Wal wal = open()) {
            indexes.put(1L, wal.takeIndex(1));
            indexes.put(2L, wal.takeIndex(2));
            write(wal, List.of(new WalRecord.Entries(1, List.of(Entry.normal(1, 1, payload)))));
            write(wal, List.of(new WalRecord.Tombstone(1)));
            for (long i = 1; i <= 300; i++) {
                write(wal, List.of(new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(2, new HardState(1, 1, i))));
            }
            write(wal, List.of(new WalRecord.CompactPrefix(2, 299, 1)));
            assertThat(wal.purge(indexes.values(), 1).laggingGroups()).as("group 1's tombstone holds segment 1 back")
                    .containsExactly(1L);
            write(wal, Wal.rewriteForward(indexes.get(1L), null, wal.config().maxRecordBytes()));
            assertThat(indexes.get(1L).oldestLiveSegment()).isEqualTo(wal.activeSegmentSequence());
            WalPurgeResult purge = wal.purge(indexes.values(), 1);
            assertThat(purge.laggingGroups()).isEmpty();
            assertThat(dir.resolve(WalSegmentNames.fileName(1))).as("the original tombstone's segment").doesNotExist();
        }
        indexes.clear();
        try (Wal wal = open()) {
            assertThat(wal.takeIndex(1).removed()).as("the rewritten tombstone survives the purge and a restart").isTrue();
            assertThat(wal.takeIndex(2).lastIndex()).isEqualTo(300);
        }
    }

    @Test
    void anOlderCompactionWrittenAfterANewerOneDoesNotLetPurgeDeleteTheLiveOne() throws Exception {
        byte[] payload = new byte[400];
        try (Wal wal = open()) {
            indexes.put(2L, wal.takeIndex(2));
            indexes.put(3L, wal.takeIndex(3));
            for (long i = 1; i <= 300; i++) {
                write(wal, List.of(new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(2, new HardState(1, 1, i))));
            }
            // Group 2's whole log compacted: this record is all that says where its log starts.
            write(wal, List.of(new WalRecord.CompactPrefix(2, 300, 1)));
            long liveCompaction = wal.activeSegmentSequence();
            for (long i = 1; i <= 300; i++) {
                write(wal, List.of(new WalRecord.Entries(3, List.of(Entry.normal(1, i, payload)))));
            }
            write(wal, List.of(new WalRecord.CompactPrefix(3, 300, 1), new WalRecord.HardStateUpdate(3, new HardState(1, 1, 300))));
            // A compaction queued before the newer one landed, written after it, then group 2 moves on.
            write(wal, List.of(new WalRecord.CompactPrefix(2, 250, 1), new WalRecord.HardStateUpdate(2, new HardState(2, 1, 300))));
            assertThat(indexes.get(2L).compactedIndex()).isEqualTo(300);
            assertThat(indexes.get(2L).oldestLiveSegment()).as("the live compaction's segment").isEqualTo(liveCompaction);
            wal.purge(indexes.values(), 0);
        }
        indexes.clear();
        try (Wal wal = open()) {
            WalGroupIndex index = wal.takeIndex(2);
            assertThat(index.compactedIndex()).isEqualTo(300);
            assertThat(index.compactedTerm()).isEqualTo(1);
            assertThat(index.hardState()).isEqualTo(new HardState(2, 1, 300));
        }
    }

    @Test
    void deadRecordsOfARewrittenGroupThatSurviveAPurgeDoNotHideItsRewrite() throws Exception {
        rewriteAfterDeadRecordsSurviveAPurge(true);
    }

    @Test
    void deadRecordsOfARewrittenGroupThatNeverCompactedDoNotHideItsRewrite() throws Exception {
        rewriteAfterDeadRecordsSurviveAPurge(false);
    }

    private void rewriteAfterDeadRecordsSurviveAPurge(boolean compacted) throws Exception {
        byte[] payload = new byte[400];
        Snapshot before;
        try (Wal wal = open()) {
            indexes.put(2L, wal.takeIndex(2));
            indexes.put(3L, wal.takeIndex(3));
            for (long i = 1; i <= 600; i++) {
                write(wal, List.of(new WalRecord.Entries(2, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(2, new HardState(1, 1, i))));
                if (i == 300 && compacted) {
                    write(wal, List.of(new WalRecord.CompactPrefix(2, 100, 1)));
                }
            }
            // Group 3 starts later and keeps those later segments, which hold group 2's entries 400 and on.
            for (long i = 1; i <= 300; i++) {
                write(wal, List.of(new WalRecord.Entries(3, List.of(Entry.normal(1, i, payload))),
                        new WalRecord.HardStateUpdate(3, new HardState(1, 1, i))));
            }
            try (WalSegmentReader reader = wal.newReader()) {
                write(wal, Wal.rewriteForward(indexes.get(2L), new WalGroupStorage(indexes.get(2L), reader, SNAPSHOTS),
                        wal.config().maxRecordBytes()));
            }
            WalPurgeResult purge = wal.purge(indexes.values(), 0);
            assertThat(purge.deletedSegments()).as("group 2's first records went with the purge").isPositive();
            before = Snapshot.of(indexes, dir);
        }
        indexes.clear();
        try (Wal wal = open()) {
            indexes.put(2L, wal.takeIndex(2));
            indexes.put(3L, wal.takeIndex(3));
            // Recovery meets group 2's dead entries (anchored, compaction term unknown) before the rewrite.
            assertThat(Snapshot.of(indexes, dir)).isEqualTo(before);
        }
    }

    /** Everything a group's index says, read through its storage, for comparing across restarts. */
    private record Snapshot(List<String> groups) {
        static Snapshot of(TreeMap<Long, WalGroupIndex> indexes, Path dir) throws IOException {
            List<String> out = new ArrayList<>();
            WalConfig config = new WalConfig(dir, 7, 1, SEGMENT_BYTES, 16 << 10);
            try (WalSegmentReader reader = new WalSegmentReader(new NioWalFileSystem(), config)) {
                for (WalGroupIndex index : indexes.values()) {
                    WalGroupStorage s = new WalGroupStorage(index, reader, SNAPSHOTS);
                    StringBuilder b = new StringBuilder();
                    b.append(index.groupId()).append(" first=").append(s.firstIndex()).append(" last=").append(s.lastIndex())
                            .append(" compactTerm=").append(s.term(s.firstIndex() - 1)).append(" hs=").append(s.initialHardState())
                            .append(" mark=").append(s.snapshot().metadata());
                    if (s.lastIndex() >= s.firstIndex()) {
                        for (Entry e : s.entries(s.firstIndex(), s.lastIndex() + 1, Long.MAX_VALUE)) {
                            b.append(' ').append(e.term()).append('/').append(e.index()).append(':').append(e.data().length);
                        }
                    }
                    out.add(b.toString());
                }
            }
            return new Snapshot(out);
        }
    }
}
