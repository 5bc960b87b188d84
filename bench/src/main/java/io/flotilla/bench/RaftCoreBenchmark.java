package io.flotilla.bench;

import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;

import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Throughput of the pure Raft core: one group of three replicas on in-memory storage, driven by the
 * benchmark thread (propose, then Ready / persist / deliver / apply / advance rounds until the leader
 * has applied the batch). No IO, threads or codec: this is the ceiling the core puts on one group.
 * State is per benchmark thread ({@link Scope#Thread}); the benchmark is meant to run single-threaded.
 *
 * <p>Each method proposes a batch of B entries per invocation and is annotated with
 * {@code @OperationsPerInvocation(B)}, so the score is committed-and-applied proposals per second and
 * {@code gc.alloc.rate.norm} from {@code -prof gc} is bytes allocated per proposal (core plus harness,
 * summed over the leader and both followers).
 *
 * <p>Run: {@code bench/run RaftCoreBenchmark -prof gc}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 2, timeUnit = TimeUnit.SECONDS)
@Measurement(iterations = 5, time = 3, timeUnit = TimeUnit.SECONDS)
public class RaftCoreBenchmark {
    private static final int REPLICAS = 3;
    private static final long GROUP_ID = 1;
    private static final long COMPACT_EVERY_ENTRIES = 10_000;
    private static final int MAX_ELECTION_TICKS = 200;
    /** A batch that fits in one append needs about 4 rounds (append, ack, commit); far more means the core is stuck. */
    private static final int MAX_ROUNDS_PER_BATCH = 1_000;
    private static final int MAX_ROUNDS_TO_SETTLE = 10_000;

    @Param({"128", "1024"})
    public int payloadBytes;

    private InMemoryGroup group;
    private RaftNode leader;
    private long leaderTerm;
    private byte[] payload;
    /** Index of the leader's no-op: every later entry is a proposal of this trial. */
    private long firstProposalIndex;
    private long proposals;

    @Setup(Level.Trial)
    public void setUp() {
        group = new InMemoryGroup(REPLICAS, GROUP_ID, COMPACT_EVERY_ENTRIES);
        leader = group.electLeader(MAX_ELECTION_TICKS, MAX_ROUNDS_TO_SETTLE);
        leaderTerm = leader.term();
        payload = new byte[payloadBytes];
        for (int i = 0; i < payload.length; i++) {
            payload[i] = (byte) ('a' + i % 26);
        }
        firstProposalIndex = leader.lastIndex() + 1;
        proposals = 0;
        // The no-op of the new term must be committed and applied everywhere before we measure.
        verifySettled(firstProposalIndex - 1, 0);
    }

    @Benchmark
    @OperationsPerInvocation(1)
    public long batchOf1() {
        return proposeBatch(1);
    }

    @Benchmark
    @OperationsPerInvocation(64)
    public long batchOf64() {
        return proposeBatch(64);
    }

    private long proposeBatch(int count) {
        long last = group.proposeAndApply(leader, payload, count, MAX_ROUNDS_PER_BATCH);
        proposals += count;
        return last;
    }

    /**
     * Settles the group and checks that every proposal made during the trial (warmup included) was
     * committed and applied, exactly once, on all three replicas, under the leader elected in setup.
     */
    @TearDown(Level.Trial)
    public void verify() {
        group.stabilize(MAX_ROUNDS_TO_SETTLE);
        verifySettled(firstProposalIndex - 1 + proposals, proposals);
        System.out.printf("%n[RaftCoreBenchmark] verified %,d proposals on %d replicas; leader %d term %d;"
                        + " compactions per replica %d; messages delivered %,d%n",
                proposals, REPLICAS, leader.id(), leaderTerm, group.compactions(0), group.messagesDelivered());
    }

    private void verifySettled(long expectedIndex, long expectedProposals) {
        if (leader.role() != Role.LEADER || leader.term() != leaderTerm) {
            throw new IllegalStateException("replica " + leader.id() + " lost leadership of term " + leaderTerm
                    + " during the run (no ticks are given, so nothing should have changed it): " + group.describe());
        }
        for (int i = 0; i < group.size(); i++) {
            RaftNode r = group.replica(i);
            if (r.commitIndex() != expectedIndex || r.appliedIndex() != expectedIndex) {
                throw new IllegalStateException(String.format(
                        "replica %d: commit %d, applied %d, expected both at %d after %d proposals: %s",
                        r.id(), r.commitIndex(), r.appliedIndex(), expectedIndex, expectedProposals, group.describe()));
            }
            if (group.snapshotsInstalled(i) == 0 && group.appliedProposals(i) != expectedProposals) {
                throw new IllegalStateException(String.format(
                        "replica %d applied %d proposals, expected %d: %s",
                        r.id(), group.appliedProposals(i), expectedProposals, group.describe()));
            }
        }
    }
}
