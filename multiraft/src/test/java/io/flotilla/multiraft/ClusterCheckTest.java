package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.check.CheckResult;
import io.flotilla.check.LinearizabilityChecker;
import io.flotilla.check.Operation;
import io.flotilla.check.Verdict;
import io.flotilla.raft.ProposeResult;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three nodes of the runtime on real logs and real loopback sockets, clients doing reads, writes and compare-and-sets on a few
 * registers per group while a nemesis isolates and kills nodes; every group's history must be
 * linearizable. Bounded: a few seconds of load.
 */
class ClusterCheckTest {
    private static final int GROUPS = Integer.getInteger("cluster.groups", 24);
    private static final int CLIENTS = 8;
    /** Seconds of load and faults; {@code -Dcluster.seconds=60} for a longer run. */
    private static final long LOAD_MS = Long.getLong("cluster.seconds", 6) * 1_000;
    private static final long OP_TIMEOUT_MS = 1_000;
    /** Entries a log keeps below what its state machine made durable. */
    private static final int RETAIN = 4;

    @TempDir
    Path dir;

    private final Map<Long, List<Operation>> histories = new ConcurrentHashMap<>();

    @Test
    void historiesStayLinearizableThroughPartitionsAndCrashes() throws Exception {
        // Durable registers (kept across a node's restart) let logs compact to RETAIN entries, so a
        // node that was isolated or down often catches up by snapshot.
        try (LocalCluster cluster = new LocalCluster(dir, 2, id -> new KvRegisterStateMachine(true)).overSockets(3)
                .withSnapshots(3, RETAIN).keepStateMachines()) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            long endNs = System.nanoTime() + LOAD_MS * 1_000_000;
            List<Thread> clients = new ArrayList<>();
            for (int c = 0; c < CLIENTS; c++) {
                int clientId = c;
                Thread t = new Thread(() -> runClient(cluster, clientId, endNs), "client-" + c);
                t.start();
                clients.add(t);
            }
            SplittableRandom nemesis = new SplittableRandom(42);
            int events = 0;
            while (System.nanoTime() < endNs - 700_000_000L) {
                long victim = 1 + nemesis.nextInt(3);
                if (nemesis.nextBoolean()) {
                    cluster.isolate(victim);
                    pause(600);
                    cluster.heal();
                } else {
                    cluster.stop(victim);
                    pause(600);
                    cluster.start(victim, GROUPS);
                }
                events++;
                pause(200);
            }
            for (Thread t : clients) {
                t.join();
            }
            long[] snapshotCounts = cluster.snapshotCounts();
            long compactions = snapshotCounts[0];
            long snapshotsSent = snapshotCounts[1];
            long snapshotsInstalled = snapshotCounts[2];
            long ops = 0;
            int illegal = 0;
            int unknown = 0;
            List<String> failures = new ArrayList<>();
            for (Map.Entry<Long, List<Operation>> e : histories.entrySet()) {
                ops += e.getValue().size();
                CheckResult r = LinearizabilityChecker.check(e.getValue());
                if (r.verdict() == Verdict.ILLEGAL) {
                    illegal++;
                    failures.add("group " + e.getKey() + ": " + r.detail());
                } else if (r.verdict() == Verdict.UNKNOWN) {
                    unknown++;
                    failures.add("group " + e.getKey() + ": search budget exhausted");
                }
            }
            System.out.printf("cluster-check: %d histories, %d ops, %d illegal, %d unknown%n", histories.size(), ops, illegal, unknown);
            System.out.printf("  (%d nemesis events, 3 nodes x %d groups, Netty over loopback, real logs; "
                    + "%d log compactions, %d snapshots sent, %d installed)%n", events, GROUPS, compactions, snapshotsSent,
                    snapshotsInstalled);
            assertThat(failures).isEmpty();
            assertThat(events).as("nemesis events").isGreaterThanOrEqualTo((int) (LOAD_MS / 1_500));
            assertThat(ops).as("enough completed operations to mean something").isGreaterThan(300);
        }
    }

    /** Holds a fault (or a quiet spell) for a fixed time: the nemesis schedule, not a wait for a condition. */
    private static void pause(long ms) {
        long until = System.nanoTime() + ms * 1_000_000;
        while (System.nanoTime() < until) {
            java.util.concurrent.locks.LockSupport.parkNanos(until - System.nanoTime());
        }
    }

    private void runClient(LocalCluster cluster, int firstClientId, long endNs) {
        SplittableRandom random = new SplittableRandom(firstClientId * 7919L + 1);
        int clientId = firstClientId;
        int seq = 0;
        while (System.nanoTime() < endNs) {
            long group = 1 + random.nextInt(GROUPS);
            String key = "g" + group + "-k" + random.nextInt(3);
            int kind = random.nextInt(3);
            String value = "c" + clientId + "-" + seq++;
            List<Operation> history = histories.computeIfAbsent(group, g -> java.util.Collections.synchronizedList(new ArrayList<>()));
            long call = System.nanoTime();
            try {
                if (kind == 0) {
                    String observed = read(cluster, group, key, random, call);
                    history.add(Operation.read(clientId, key, observed, call, System.nanoTime()));
                } else if (kind == 1) {
                    propose(cluster, group, KvRegisterStateMachine.write(key, value), random, call);
                    history.add(Operation.write(clientId, key, value, call, System.nanoTime()));
                } else {
                    String expected = random.nextInt(4) == 0 ? null : "c" + random.nextInt(CLIENTS) + "-" + random.nextInt(Math.max(1, seq));
                    boolean swapped = propose(cluster, group, KvRegisterStateMachine.cas(key, expected, value), random, call);
                    history.add(Operation.cas(clientId, key, expected, value, swapped, call, System.nanoTime()));
                }
            } catch (TimeoutException | RuntimeException e) {
                // Outcome unknown: a write or CAS may still take effect; a read tells nothing.
                if (kind == 1) {
                    history.add(Operation.unknownWrite(clientId, key, value, call));
                } else if (kind == 2) {
                    history.add(Operation.unknownCas(clientId, key, null, value, call));
                }
                if (kind != 0) {
                    // Its operation may still be in flight forever: continue as a new client (Jepsen's rule).
                    clientId += CLIENTS;
                }
            }
        }
    }

    /** Proposes until applied (returns the CAS outcome) or the op times out. Refusals are definite, so retrying is safe. */
    private boolean propose(LocalCluster cluster, long group, byte[] command, SplittableRandom random, long callNs)
            throws TimeoutException {
        long via = 1 + random.nextInt(3);
        while (System.nanoTime() - callNs < OP_TIMEOUT_MS * 1_000_000) {
            MultiRaftNode node = cluster.nodes.get(via);
            if (node == null) {
                via = 1 + random.nextInt(3);
                continue;
            }
            CompletableFuture<long[]> outcome = new CompletableFuture<>();
            node.propose(group, command, new ProposalListener() {
                @Override
                public void onApplied(long groupId, long index) {
                    outcome.complete(new long[] {1, index});
                }

                @Override
                public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                    outcome.complete(new long[] {0, leaderHint});
                }

                @Override
                public void onOutcomeUnknown(long groupId, long index) {
                    outcome.complete(new long[] {2, 0});
                }

                @Override
                public void onBusy(long groupId) {
                    outcome.complete(new long[] {0, 0});
                }
            });
            long[] r;
            try {
                r = outcome.get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
            if (r[0] == 2) {
                // Covered by a snapshot before this replica learned its fate: an unknown outcome.
                throw new TimeoutException();
            }
            if (r[0] == 1) {
                KvRegisterStateMachine sm = (KvRegisterStateMachine) cluster.stateMachines.get(via);
                Boolean swapped = sm.casResults.get(group << 32 | r[1]);
                return swapped != null && swapped;
            }
            via = r[1] != 0 ? r[1] : 1 + random.nextInt(3);
            pauseQuietly();
        }
        throw new TimeoutException();
    }

    private String read(LocalCluster cluster, long group, String key, SplittableRandom random, long callNs) throws TimeoutException {
        while (System.nanoTime() - callNs < OP_TIMEOUT_MS * 1_000_000) {
            long via = 1 + random.nextInt(3);
            MultiRaftNode node = cluster.nodes.get(via);
            if (node == null) {
                continue;
            }
            KvRegisterStateMachine sm = (KvRegisterStateMachine) cluster.stateMachines.get(via);
            CompletableFuture<String[]> value = new CompletableFuture<>();
            node.read(group, new ReadListener() {
                @Override
                public void onReadable(long groupId) {
                    value.complete(new String[] {sm.get(groupId, key)});
                }

                @Override
                public void onFailed(long groupId) {
                    value.complete(null);
                }

                @Override
                public void onBusy(long groupId) {
                    value.complete(null);
                }
            });
            try {
                String[] v = value.get(OP_TIMEOUT_MS, TimeUnit.MILLISECONDS);
                if (v != null) {
                    return v[0];
                }
            } catch (InterruptedException | java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            } catch (TimeoutException e) {
                throw e;
            }
            pauseQuietly();
        }
        throw new TimeoutException();
    }

    private static void pauseQuietly() {
        java.util.concurrent.locks.LockSupport.parkNanos(3_000_000);
    }
}
