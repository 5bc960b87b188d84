package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.HardState;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalAppendCallback;
import io.flotilla.wal.WalBatch;
import io.flotilla.wal.WalCacheBudget;
import io.flotilla.wal.WalCacheConfig;
import io.flotilla.wal.WalConfig;
import io.flotilla.wal.WalFailedException;
import io.flotilla.wal.WalRecord;
import io.flotilla.wal.WalWriterConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Creating and removing replicas, driven step by step on one thread (the runtime in stepped mode
 * on a real log, single-replica groups): the corners of a replica's life that a node meets at
 * startup and that the split issue will meet at apply time. Each test failed before its fix.
 */
class ReplicaLifecycleTest {
    private static final long NODE = 1;

    @TempDir
    Path dir;

    private final AtomicLong nowNs = new AtomicLong(1_000_000_000L);
    private final InMemoryStateMachine stateMachine = new InMemoryStateMachine();
    private Wal wal;
    private MultiRaftNode node;

    /** A node with {@code workers} workers of at most {@code maxGroupsPerWorker} groups, on this test's log. */
    private void start(int workers, int maxGroupsPerWorker) throws Exception {
        openLog();
        MultiRaftConfig config = new MultiRaftConfig(NODE, workers, 10, 10, 1, 1024, maxGroupsPerWorker, 1000);
        node = new MultiRaftNode(config, wal, stateMachine, (to, messages) -> true, null,
                new RuntimeEnvironment(nowNs::get, 1));
        node.startStepped();
    }

    private void openLog() throws Exception {
        wal = Wal.openStepped(new NioWalFileSystem(), new WalConfig(dir.resolve("wal"), 1, NODE, 1 << 20, 64 << 10),
                new WalWriterConfig(64, 1 << 20, 1), WalCacheConfig.defaults(), WalCacheBudget.UNLIMITED);
    }

    /** Runs the node (rounds, group commits, 10 ms ticks) until {@code done}, at most 10 simulated seconds. */
    private void runUntil(BooleanSupplier done, String what) {
        for (int i = 0; i < 10_000 && !done.getAsBoolean(); i++) {
            step();
        }
        assertThat(done.getAsBoolean()).as(what).isTrue();
    }

    private void step() {
        node.doWork(nowNs.get());
        wal.commitQueued();
        node.doWork(nowNs.get());
        nowNs.addAndGet(1_000_000L);
    }

    /** Proposes one command to a single-replica group and runs until it applied. */
    private void write(long group) {
        boolean[] applied = new boolean[1];
        runUntil(() -> node.node(group) != null && node.node(group).role() == io.flotilla.raft.Role.LEADER, "group " + group + " leads");
        node.propose(group, ("cmd-" + group).getBytes(), new ProposalListener() {
            @Override
            public void onApplied(long groupId, long index) {
                applied[0] = true;
            }

            @Override
            public void onRefused(long groupId, io.flotilla.raft.ProposeResult result, long leaderHint) {
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
        runUntil(() -> applied[0], "the write to group " + group + " applied");
    }

    /** The process dies: nothing more runs; what the log made durable stays on disk. */
    private void crash() throws Exception {
        node = null;
        wal.close();
        wal = null;
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

    /** Before: the worker failed a check and died, so the node stopped with it. */
    @Test
    void aFullWorkerRefusesANewGroupAndTheNodeRuns() throws Exception {
        start(1, 2);
        node.createGroup(1, NODE);
        node.createGroup(2, NODE);
        node.createGroup(3, NODE);
        write(1);
        write(2);
        assertThat(node.failure()).isNull();
        assertThat(node.hostedGroups()).isEqualTo(2);
        assertThat(node.node(3)).as("the group over the limit").isNull();
    }

    /**
     * The tombstone of a removed replica is durable but the node dies before the state machine
     * drops the group. Before: the group's state stayed for ever; now it is dropped at the next start.
     */
    @Test
    void aRemovalInterruptedAfterItsTombstoneIsFinishedAtTheNextStart() throws Exception {
        start(1, 16);
        node.createGroup(1, NODE);
        write(1);
        node.destroyReplica(1);
        node.doWork(nowNs.get()); // the tombstone goes to the log
        wal.commitQueued(); // and is durable; the worker never hears of it
        crash();
        assertThat(stateMachine.appliedIndex(1)).as("the state machine still holds the removed group").isPositive();

        start(1, 16);
        node.doWork(nowNs.get());
        assertThat(stateMachine.appliedIndex(1)).as("dropped at startup").isZero();
        node.createGroup(1, NODE);
        step();
        step();
        assertThat(node.node(1)).as("a tombstoned group is never created again").isNull();
    }

    /**
     * A group the log recovered that the owner does not create again. Before: destroyReplica did
     * nothing for it, so its records held log segments for ever; now it is tombstoned.
     */
    @Test
    void aRecoveredGroupThatIsNotCreatedAgainCanBeRemoved() throws Exception {
        start(1, 16);
        node.createGroup(7, NODE);
        write(7);
        node.close();
        node = null;
        wal.close();

        start(1, 16);
        node.destroyReplica(7);
        step();
        step();
        node.close();
        node = null;
        wal.close();

        openLog();
        assertThat(wal.recoveredGroups()).as("no live group 7").doesNotContain(7L);
        assertThat(wal.recoveredTombstones().contains(7)).as("group 7 is tombstoned in the log").isTrue();
        assertThat(wal.takeIndex(7).removed()).isTrue();
        assertThat(stateMachine.appliedIndex(7)).as("its state is dropped").isZero();
    }

    /**
     * A follower installs a leader's snapshot at index 5: one log write holds the compaction to 5
     * and then the snapshot mark. Power fails and the write is torn after the compaction, so the
     * log restarts compacted to 5 with no mark, and the state machine (not yet durable) holds
     * nothing. Before: the replica handed entry 6 to a state machine that never saw 1..5 (a range
     * with no state, so the node's worker threw: kv-simulation seed 770). Now the replica waits for
     * a snapshot from its leader and applies nothing until one arrives.
     */
    @Test
    void aLogCompactedPastWhatTheStateMachineHoldsWithNoMarkWaitsForASnapshot() throws Exception {
        openLog();
        List<Entry> entries = new ArrayList<>();
        for (long voter = 1; voter <= 3; voter++) {
            entries.add(new Entry(1, voter, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_VOTER, voter).encode()));
        }
        for (long i = 4; i <= 6; i++) {
            entries.add(new Entry(1, i, EntryType.NORMAL, ("cmd-" + i).getBytes()));
        }
        boolean[] durable = new boolean[1];
        wal.submit(new WalBatch(List.of(new WalRecord.Entries(1, entries),
                new WalRecord.HardStateUpdate(1, new HardState(1, 0, 6)),
                new WalRecord.CompactPrefix(1, 5, 1))), new WalAppendCallback() {
                    @Override
                    public void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes) {
                        durable[0] = true;
                    }

                    @Override
                    public void onFailed(WalBatch batch, WalFailedException error) {
                        throw new AssertionError(error);
                    }
                });
        wal.commitQueued();
        assertThat(durable[0]).isTrue();
        crash();

        start(1, 16);
        node.createGroup(1, 1, 2, 3);
        for (int i = 0; i < 100; i++) {
            step();
        }
        assertThat(node.failure()).as("the node runs").isNull();
        assertThat(stateMachine.appliedIndex(1)).as("entries the state machine was handed").isZero();
        assertThat(node.node(1).awaitingSnapshot()).as("the replica waits for its leader's snapshot").isTrue();
    }

    /**
     * A removed replica comes back only by rejoinGroup (a move bringing its range back), and only
     * where snapshots run: the new replica must start from a snapshot taken after its addition,
     * never replay the group's log, in which this node was a voter once (its votes then are lost
     * with the old replica). This node has no snapshot channel, so it refuses; createGroup always
     * does. The return itself is tested where snapshots run (MoveTest, the KV simulation).
     */
    @Test
    void aRemovedReplicaComesBackOnlyByRejoinAndOnlyWithSnapshots() throws Exception {
        start(1, 16);
        node.createGroup(1, NODE);
        write(1);
        node.destroyReplica(1);
        step();
        step();
        assertThat(stateMachine.appliedIndex(1)).as("dropped with its tombstone").isZero();
        node.createGroup(1, NODE);
        step();
        step();
        assertThat(node.node(1)).as("createGroup of a removed replica").isNull();
        node.rejoinGroup(1);
        step();
        step();
        assertThat(node.node(1)).as("rejoinGroup without a snapshot channel").isNull();
        assertThat(node.failure()).isNull();
    }
}
