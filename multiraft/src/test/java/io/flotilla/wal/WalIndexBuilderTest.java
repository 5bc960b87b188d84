package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Recovery of a group's index from what survived a purge: the records of its oldest segments are
 * gone, and the first ones the scan meets may be dead copies. The two cases below look alike at
 * first (a compaction point below the entries the scan anchored at) and must end differently.
 */
class WalIndexBuilderTest {
    private static final long GROUP = 7;
    private static final ConfState VOTERS = ConfState.ofVoters(1, 2, 3);

    private static List<Entry> entries(long from, long to) {
        List<Entry> list = new ArrayList<>();
        for (long i = from; i <= to; i++) {
            list.add(new Entry(3, i, EntryType.NORMAL, new byte[] {(byte) i}));
        }
        return list;
    }

    private static WalGroupIndex recover(WalRecord... records) {
        WalIndexBuilder builder = new WalIndexBuilder(new WalCacheConfig(64, 1 << 20), WalCacheBudget.UNLIMITED);
        long offset = 64;
        for (WalRecord r : records) {
            builder.onRecord(r, 3, offset);
            offset += 64;
        }
        return builder.indexes().get(GROUP);
    }

    /**
     * The runtime compacted to 17 after entries up to 32 were in the log, later to 31; purge then
     * dropped the segment with entries 18..29. Before the fix, recovery took the point at 17 for a
     * rewrite, then the point at 31 for another, and came back with no entries at all: entries
     * 32..44, live and committed, were lost (found by the runtime simulation, seed 104).
     */
    @Test
    void anOrdinaryCompactionRecordBelowTheAnchorIsDeadAndKeepsTheEntries() {
        WalGroupIndex index = recover(
                new WalRecord.Entries(GROUP, entries(30, 32)),
                new WalRecord.SnapshotMark(GROUP, 17, 3, VOTERS),
                new WalRecord.CompactPrefix(GROUP, 17, 3),
                new WalRecord.Entries(GROUP, entries(33, 44)),
                new WalRecord.HardStateUpdate(GROUP, new HardState(3, 2, 41)),
                new WalRecord.SnapshotMark(GROUP, 31, 3, VOTERS),
                new WalRecord.CompactPrefix(GROUP, 31, 3));
        assertThat(index.compactedIndex()).isEqualTo(31);
        assertThat(index.firstIndex()).isEqualTo(32);
        assertThat(index.lastIndex()).isEqualTo(44);
        assertThat(index.compactedTerm()).isEqualTo(3);
    }

    /** A rewrite forward restates the live log after dead copies of later entries survived the purge. */
    @Test
    void aRewriteBelowTheAnchorRestatesTheLog() {
        WalGroupIndex index = recover(
                new WalRecord.Entries(GROUP, entries(30, 32)),
                new WalRecord.CompactPrefix(GROUP, 20, 3),
                new WalRecord.SnapshotMark(GROUP, 20, 3, VOTERS),
                new WalRecord.Entries(GROUP, entries(21, 25)),
                new WalRecord.HardStateUpdate(GROUP, new HardState(3, 2, 25)));
        assertThat(index.compactedIndex()).isEqualTo(20);
        assertThat(index.firstIndex()).isEqualTo(21);
        assertThat(index.lastIndex()).isEqualTo(25);
    }

    /** A rewrite of a group with no entries after its compaction point, the last of its records. */
    @Test
    void aRewriteWithNoEntriesAtTheEndRestatesAnEmptyLog() {
        WalGroupIndex index = recover(
                new WalRecord.Entries(GROUP, entries(30, 32)),
                new WalRecord.CompactPrefix(GROUP, 20, 3),
                new WalRecord.HardStateUpdate(GROUP, new HardState(3, 2, 20)));
        assertThat(index.compactedIndex()).isEqualTo(20);
        assertThat(index.lastIndex()).isEqualTo(20);
    }

    /**
     * A crash tore a rewrite forward after its first entries record. Before the fix, that record cut
     * the log after it: entries 15..25, committed, were gone and the group could not start (its hard
     * state's commit was past its last entry; found by the runtime simulation, seed 1902).
     */
    @Test
    void theTornStartOfARewriteDoesNotCutTheLog() {
        WalGroupIndex index = recover(
                new WalRecord.CompactPrefix(GROUP, 11, 3),
                new WalRecord.Entries(GROUP, entries(12, 25)),
                new WalRecord.HardStateUpdate(GROUP, new HardState(3, 2, 25)),
                new WalRecord.CompactPrefix(GROUP, 11, 3),
                new WalRecord.SnapshotMark(GROUP, 11, 3, VOTERS),
                new WalRecord.Entries(GROUP, entries(12, 14)));
        assertThat(index.firstIndex()).isEqualTo(12);
        assertThat(index.lastIndex()).isEqualTo(25);
        assertThat(index.hardState().commit()).isEqualTo(25);
    }

    /**
     * Dead copies of old entries survived in a segment another group kept, then a stale compaction
     * point, then the live entries after a purged gap. Before the fix, recovery refused the log
     * ("append at 29 leaves a gap after last index 16"; found by the runtime simulation, seed 3800).
     */
    @Test
    void entriesAfterAPurgedGapStartTheLogAgain() {
        WalGroupIndex index = recover(
                new WalRecord.Entries(GROUP, entries(10, 16)),
                new WalRecord.CompactPrefix(GROUP, 8, 3),
                new WalRecord.Entries(GROUP, entries(29, 35)),
                new WalRecord.SnapshotMark(GROUP, 28, 3, VOTERS),
                new WalRecord.CompactPrefix(GROUP, 28, 3));
        assertThat(index.compactedIndex()).isEqualTo(28);
        assertThat(index.compactedTerm()).isEqualTo(3);
        assertThat(index.firstIndex()).isEqualTo(29);
        assertThat(index.lastIndex()).isEqualTo(35);
    }

    /**
     * A replica removed (its own tombstone, then a tombstone set listing it) and hosted again (a
     * move brought the range back): recovery forgets the tombstones at the REVIVE record and
     * rebuilds the new replica's log from the records after it, none of the old replica's.
     */
    @Test
    void aRevivedGroupRecoversTheNewReplicasLogAlone() {
        WalIndexBuilder builder = new WalIndexBuilder(new WalCacheConfig(64, 1 << 20), WalCacheBudget.UNLIMITED);
        List<WalRecord> log = List.of(
                new WalRecord.Entries(GROUP, entries(1, 12)),
                new WalRecord.HardStateUpdate(GROUP, new HardState(3, 2, 12)),
                new WalRecord.Tombstone(GROUP),
                new WalRecord.TombstoneSet(new long[] {GROUP, GROUP + 1}),
                new WalRecord.Revive(GROUP),
                new WalRecord.CompactPrefix(GROUP, 40, 5),
                new WalRecord.SnapshotMark(GROUP, 40, 5, VOTERS),
                new WalRecord.Entries(GROUP, entries(41, 43)),
                new WalRecord.HardStateUpdate(GROUP, new HardState(5, 0, 43)));
        long offset = 64;
        for (WalRecord r : log) {
            builder.onRecord(r, 3, offset);
            offset += 64;
        }
        WalGroupIndex index = builder.indexes().get(GROUP);
        assertThat(index.removed()).isFalse();
        assertThat(index.snapshotIndex()).isEqualTo(40);
        assertThat(index.firstIndex()).isEqualTo(41);
        assertThat(index.lastIndex()).isEqualTo(43);
        assertThat(index.hardState()).isEqualTo(new HardState(5, 0, 43));
        assertThat(builder.tombstones().contains(GROUP)).as("the revived group is tombstoned").isFalse();
        assertThat(builder.tombstones().contains(GROUP + 1)).as("the other group in the set").isTrue();
    }

    /** A revived group removed again: the second tombstone holds. */
    @Test
    void aRevivedGroupRemovedAgainStaysRemoved() {
        WalIndexBuilder builder = new WalIndexBuilder(new WalCacheConfig(64, 1 << 20), WalCacheBudget.UNLIMITED);
        builder.onRecord(new WalRecord.Entries(GROUP, entries(1, 3)), 1, 64);
        builder.onRecord(new WalRecord.Tombstone(GROUP), 1, 128);
        builder.onRecord(new WalRecord.Revive(GROUP), 2, 64);
        builder.onRecord(new WalRecord.Entries(GROUP, entries(1, 2)), 2, 128);
        builder.onRecord(new WalRecord.Tombstone(GROUP), 3, 64);
        assertThat(builder.indexes().get(GROUP)).isNull();
        assertThat(builder.tombstones().contains(GROUP)).isTrue();
        assertThat(builder.tombstones().newestSegment(GROUP)).isEqualTo(3);
    }
}
