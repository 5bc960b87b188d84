package io.flotilla.wal.crash;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Crash consistency of the shared log (issue 3, item 9): seeded workloads through the real
 * {@code WalWriter} on a {@link CrashSimFileSystem}, crashed at every write, force, create, rename,
 * delete and directory-fsync boundary in every {@link CrashMode}; every image is recovered,
 * restarted, appended to and recovered again. Prints exactly one summary line. A failure names the
 * seed, the boundary and the mode; {@code -Dwal.crash.seeds=N -Dwal.crash.firstSeed=S} replays or
 * widens the run. The broken-log tests prove the harness catches a log that skips a sync.
 */
class WalCrashTest {
    private static final int SEEDS = Integer.getInteger("wal.crash.seeds", 44);
    private static final long FIRST_SEED = Long.getLong("wal.crash.firstSeed", 1);
    private static final int ROUNDS = Integer.getInteger("wal.crash.rounds", 90);

    private final WalCrashHarness harness = new WalCrashHarness();

    @Test
    void everyCrashImageKeepsAcknowledgedRecordsAndInventsNone() throws Exception {
        // Many (boundary, mode) pairs give the same image (nothing unsynced at that boundary), so the
        // summary counts distinct images; the pairs checked are printed after it.
        Set<Long> distinct = new HashSet<>();
        WalCrashHarness.Tally total = new WalCrashHarness.Tally();
        for (long seed = FIRST_SEED; seed < FIRST_SEED + SEEDS; seed++) {
            total.add(harness.check(harness.record(seed, ROUNDS, CrashSimFileSystem.Fault.NONE), distinct));
        }
        System.out.printf("wal-crash: %d images, %d lost, %d invented, %d refused%n",
                distinct.size(), total.lost, total.invented, total.refused);
        System.out.printf("  (%d crash points checked: %d seeds x every boundary x %d modes)%n",
                total.images, SEEDS, CrashMode.values().length);
        assertThat(total.lost + total.invented + total.refused)
                .withFailMessage("%s%nfirst problems:%n  %s", total.summary(), String.join("\n  ", total.problems))
                .isZero();
        assertThat(distinct.size()).isGreaterThanOrEqualTo(10_000);
    }

    @Test
    void aWriterWhoseForceDoesNothingLosesAcknowledgedRecords() throws Exception {
        WalCrashHarness.Tally t = harness.check(
                harness.record(FIRST_SEED, 30, CrashSimFileSystem.Fault.SKIP_OPENED_FILE_FORCE), null);
        assertThat(t.lost).withFailMessage("the harness missed a log that never forces its segments: %s", t.summary())
                .isPositive();
    }

    @Test
    void segmentCreationWithoutDirectoryFsyncLosesAcknowledgedRecords() throws Exception {
        WalCrashHarness.Tally t = harness.check(
                harness.record(FIRST_SEED, 30, CrashSimFileSystem.Fault.DROP_DIRECTORY_FSYNC), null);
        assertThat(t.lost).withFailMessage("the harness missed a log whose segment names are never durable: %s", t.summary())
                .isPositive();
    }

    @Test
    void aSeedReplaysTheSameFileSystemHistoryAndAcknowledgements() throws Exception {
        // One seed of each preallocation order (odd seeds preallocate after the first write).
        for (long seed = FIRST_SEED; seed < FIRST_SEED + 2; seed++) {
            WalCrashHarness.Recording first = harness.record(seed, 40, CrashSimFileSystem.Fault.NONE);
            WalCrashHarness.Recording second = harness.record(seed, 40, CrashSimFileSystem.Fault.NONE);
            assertThat(second.fs().historyDigest()).as("seed %d history", seed).isEqualTo(first.fs().historyDigest());
            assertThat(second.ackBoundaries()).as("seed %d acknowledgements", seed).isEqualTo(first.ackBoundaries());
        }
    }
}
