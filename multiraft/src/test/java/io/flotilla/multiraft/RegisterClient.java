package io.flotilla.multiraft;

import io.flotilla.raft.ProposeResult;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;

/**
 * A blocking client of {@link KvRegisterStateMachine} groups in a {@link LocalCluster}, for tests
 * that need writes to land and reads to be linearizable but do not record histories: requests
 * follow leader hints and are retried until they apply (register writes are idempotent).
 */
final class RegisterClient {
    private static final long APPLIED = Long.MIN_VALUE;

    private RegisterClient() {
    }

    /** Writes {@code key = value} in {@code group}, starting at node {@code via}. */
    static void write(LocalCluster cluster, long via, long group, String key, String value) throws Exception {
        byte[] command = KvRegisterStateMachine.write(key, value);
        untilApplied(cluster, via, group, (node, done) -> node.propose(group, command, done));
    }

    /**
     * Issues {@code request} through the group's leader (following hints from node {@code via} on)
     * until it applies; an unknown outcome or a busy worker is retried, so the request must be
     * idempotent.
     */
    static void untilApplied(LocalCluster cluster, long via, long group, BiConsumer<MultiRaftNode, ProposalListener> request)
            throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            MultiRaftNode node = cluster.nodes.get(via);
            long r = -1;
            if (node != null) {
                CompletableFuture<Long> outcome = new CompletableFuture<>();
                request.accept(node, new ProposalListener() {
                    @Override
                    public void onApplied(long groupId, long index) {
                        outcome.complete(APPLIED);
                    }

                    @Override
                    public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                        outcome.complete(leaderHint);
                    }

                    @Override
                    public void onOutcomeUnknown(long groupId, long index) {
                        outcome.complete(-1L);
                    }

                    @Override
                    public void onBusy(long groupId) {
                        outcome.complete(-1L);
                    }
                });
                try {
                    r = outcome.get(2, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    r = -1;
                }
            }
            if (r == APPLIED) {
                return;
            }
            if (r > 0 && cluster.nodes.containsKey(r)) {
                via = r;
            } else {
                via = via % 3 + 1;
                Thread.sleep(10);
            }
        }
        throw new AssertionError("a request to group " + group + " did not apply in 30 s");
    }

    /** A linearizable read, through node {@code via}, of registers k0 .. k(keys-1) of {@code group}. */
    static Map<String, String> readAll(LocalCluster cluster, long via, long group, int keys) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (System.nanoTime() < deadline) {
            KvRegisterStateMachine sm = (KvRegisterStateMachine) cluster.stateMachines.get(via);
            CompletableFuture<Map<String, String>> value = new CompletableFuture<>();
            cluster.nodes.get(via).read(group, new ReadListener() {
                @Override
                public void onReadable(long groupId) {
                    Map<String, String> all = new HashMap<>();
                    for (int k = 0; k < keys; k++) {
                        all.put("k" + k, sm.get(groupId, "k" + k));
                    }
                    value.complete(all);
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
            Map<String, String> v;
            try {
                v = value.get(2, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                v = null;
            }
            if (v != null) {
                return v;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("no linearizable read of group " + group + " on node " + via + " in 20 s");
    }
}
