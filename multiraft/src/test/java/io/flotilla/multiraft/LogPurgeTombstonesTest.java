package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import io.flotilla.raft.Role;
import io.flotilla.transport.snapshot.SnapshotRetention;
import io.flotilla.transport.snapshot.SnapshotSender;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalSegmentNames;
import io.flotilla.wal.WalWriterConfig;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node that removed many replicas over its life and keeps writing: its tombstones must not cost
 * one rewritten record each per log sweep for ever. Driven step by step on one thread (the runtime
 * in stepped mode on a real log, single-replica groups, durable registers so logs compact, and a
 * snapshot channel so that log sweeps run). Before the tombstone sets, every sweep that found the
 * tombstones lagging rewrote all 1,000 of them forward (seen failing with that rewrite restored in
 * LogMaintenance: 1,000 records rewritten in one step).
 */
class LogPurgeTombstonesTest {
    private static final long NODE = 1;
    private static final int TOMBSTONED = 1000;
    private static final long LIVE_GROUP = 5000;
    private static final int SEGMENT_BYTES = 64 << 10;

    @TempDir
    Path dir;

    private final AtomicLong nowNs = new AtomicLong(1_000_000_000L);
    private final KvRegisterStateMachine stateMachine = new KvRegisterStateMachine(true);
    private Wal wal;
    private MultiRaftNode node;

    /** Single-replica groups never ship snapshots: a channel that holds nothing, so the log sweep runs. */
    private static final class NoSnapshots implements SnapshotChannel {
        @Override
        public void attach(MultiRaftNode runtime) {
        }

        @Override
        public void publish(OutgoingImage image) {
        }

        @Override
        public void withdraw(OutgoingImage image) {
        }

        @Override
        public SnapshotSender.SendResult send(long peerNodeId, OutgoingImage image) {
            throw new AssertionError("a single-replica group sent a snapshot to node " + peerNodeId);
        }

        @Override
        public Path receivedImage(long groupId, long index, long term) {
            return null;
        }

        @Override
        public void deleteReceived(long groupId, long index, boolean inclusive) {
        }

        @Override
        public CompletableFuture<SnapshotRetention.Swept> retainReceived(SnapshotRetention retention) {
            return CompletableFuture.completedFuture(SnapshotRetention.Swept.NOTHING);
        }
    }

    private void start() throws Exception {
        wal = Wal.openStepped(new NioWalFileSystem(), new WalConfig(dir.resolve("wal"), 1, NODE, SEGMENT_BYTES, 32 << 10),
                new WalWriterConfig(64, 1 << 20, 1), WalCacheConfig.defaults(), WalCacheBudget.UNLIMITED);
        // Two workers, so that each writes its own set; 10-entry retention so the live group compacts often.
        MultiRaftConfig config = new MultiRaftConfig(NODE, 2, 10, 10, 1, 4096, 4096, 10);
        node = new MultiRaftNode(config, wal, stateMachine, (to, messages) -> true, new NoSnapshots(),
                new RuntimeEnvironment(nowNs::get, 1));
        node.startStepped();
    }

    private void step() {
        node.doWork(nowNs.get());
        wal.commitQueued();
        node.doWork(nowNs.get());
        nowNs.addAndGet(1_000_000L);
    }

    private void runUntil(BooleanSupplier done, int maxSteps, String what) {
        for (int i = 0; i < maxSteps && !done.getAsBoolean(); i++) {
            step();
        }
        assertThat(done.getAsBoolean()).as(what).isTrue();
    }

    private boolean leads(long group) {
        return node.node(group) != null && node.node(group).role() == Role.LEADER;
    }

    /** Proposes a write to the live group and runs until it applied. */
    private void write(String key, String value) {
        boolean[] applied = new boolean[1];
        runUntil(() -> leads(LIVE_GROUP), 10_000, "the live group leads");
        node.propose(LIVE_GROUP, KvRegisterStateMachine.write(key, value), new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                applied[0] = true;
            }

            @Override
            public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                throw new AssertionError("refused: " + result);
            }

            @Override
            public void onOutcomeUnknown(long groupId, long index) {
                throw new AssertionError("outcome unknown");
            }

            @Override
            public void onBusy(long groupId) {
                throw new AssertionError("busy");
            }
        });
        runUntil(() -> applied[0], 10_000, "the write applied");
    }

    private long segmentFiles() throws Exception {
        return new NioWalFileSystem().list(dir.resolve("wal")).stream().filter(n -> WalSegmentNames.parseSequence(n) >= 0)
                .count();
    }

    @AfterEach
    void close() throws Exception {
        if (node != null) {
            node.close();
        }
        if (wal != null) {
            wal.close();
        }
    }

    @Test
    void aThousandTombstonesCostOneSetRecordPerWorkerPerSweepAndSurviveRestarts() throws Exception {
        start();
        for (long g = 1; g <= TOMBSTONED; g++) {
            node.createGroup(g, NODE);
        }
        node.createGroup(LIVE_GROUP, NODE);
        runUntil(() -> node.hostedGroups() == TOMBSTONED + 1, 10_000, "every group hosted");
        for (long g = 1; g <= TOMBSTONED; g++) {
            node.destroyReplica(g);
        }
        runUntil(() -> node.hostedGroups() == 1 && node.tombstonedGroups() == TOMBSTONED, 10_000,
                "every removal durable");

        // About 8 MiB of writes: more than a hundred segments, so the tombstones lag again and again.
        String value = "v".repeat(4 << 10);
        long rewrittenBefore = node.logRecordsRewritten();
        long mostInOneStep = 0;
        for (int i = 0; i < 2000; i++) {
            long before = node.logRecordsRewritten();
            write("k" + i % 8, value + i);
            mostInOneStep = Math.max(mostInOneStep, node.logRecordsRewritten() - before);
        }
        assertThat(node.logTombstoneSetsWritten()).as("the tombstones lagged and were collapsed, more than once")
                .isGreaterThanOrEqualTo(4);
        assertThat(mostInOneStep).as("records rewritten by the sweeps of one write (1,000 before tombstone sets)")
                .isLessThanOrEqualTo(50);
        assertThat(node.logRecordsRewritten() - rewrittenBefore)
                .as("records rewritten over the whole run: O(sweeps), not O(sweeps x tombstones)")
                .isLessThan(TOMBSTONED);
        assertThat(node.logSegmentsPurged()).isPositive();
        // Sweeps run every 800 simulated ms here, about 16 segments of writes apart: idle for three
        // of them, and the log shrinks to the lag window whatever the tombstones.
        for (int i = 0; i < 3 * 800; i++) {
            step();
        }
        assertThat(segmentFiles()).as("the tombstones hold no old segment back").isLessThanOrEqualTo(
                2L * LogMaintenance.LAG_SEGMENTS);

        // A restart: every tombstone comes back as an id, no group index, and none of the groups is recreated.
        node.close();
        node = null;
        wal.close();
        start();
        // The node took the live group's index from the log; tombstoned groups never had one.
        assertThat(wal.recoveredTombstones().size()).isEqualTo(TOMBSTONED);
        assertThat(wal.recoveredGroups()).isEmpty();
        for (long g = 1; g <= TOMBSTONED; g++) {
            node.createGroup(g, NODE);
        }
        node.createGroup(LIVE_GROUP, NODE);
        runUntil(() -> leads(LIVE_GROUP), 10_000, "the live group is back");
        for (int i = 0; i < 20; i++) {
            step();
        }
        assertThat(node.hostedGroups()).as("only the live group").isEqualTo(1);
        assertThat(node.tombstonedGroups()).isEqualTo(TOMBSTONED);
        for (long g = 1; g <= TOMBSTONED; g++) {
            assertThat(node.node(g)).as("group %d is tombstoned", g).isNull();
        }
        assertThat(stateMachine.get(LIVE_GROUP, "k7")).isEqualTo(value + 1999);

        // And after more purging in this life, a second restart still has them all.
        for (int i = 0; i < 600; i++) {
            write("k" + i % 8, value + "again" + i);
        }
        node.close();
        node = null;
        wal.close();
        start();
        assertThat(wal.recoveredTombstones().size()).isEqualTo(TOMBSTONED);
        node.createGroup(LIVE_GROUP, NODE);
        node.createGroup(17, NODE);
        runUntil(() -> leads(LIVE_GROUP), 10_000, "the live group is back");
        assertThat(stateMachine.get(LIVE_GROUP, "k7")).isEqualTo(value + "again599");
        assertThat(node.node(17)).isNull();
    }
}
