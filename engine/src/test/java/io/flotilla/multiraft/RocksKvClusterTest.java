package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.SessionConfig;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.engine.rocks.RocksConfig;
import io.flotilla.engine.rocks.RocksKvStore;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.raft.ProposeResult;
import io.flotilla.router.KeySpace;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three real {@link MultiRaftNode}s in one JVM (real logs, in-process network) running
 * {@link KvStateMachine} over {@link RocksKvStore}: writes apply on every replica, a retried write
 * applies once, and a node restarted from its log and its RocksDB catches up. In the runtime's
 * package to reuse its {@link LocalCluster}.
 */
class RocksKvClusterTest {
    private static final int GROUPS = 8;
    private static final List<RangeDescriptor> RANGES = KeySpace.tile(GROUPS, 1, 1, 2, 3);
    private static final long CLIENT = 0xc1;

    @TempDir
    Path dir;

    private final Map<Long, RocksKvStore> stores = new ConcurrentHashMap<>();

    private StateMachine open(long nodeId) {
        try {
            RocksKvStore store = RocksKvStore.open(new RocksConfig(dir.resolve("data" + nodeId), 64, 16L << 20, 32L << 20,
                    1L << 20, 64L << 10, 500, 1));
            stores.put(nodeId, store);
            KvStateMachine sm = new KvStateMachine(store, KvLimits.defaults(), SessionConfig.defaults());
            sm.bootstrap(RANGES);
            return sm;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static KvStateMachine sm(LocalCluster cluster, long nodeId) {
        return (KvStateMachine) cluster.stateMachines.get(nodeId);
    }

    /** The range holding {@code key}. */
    private static RangeDescriptor rangeOf(ByteString key) {
        return RANGES.stream().filter(r -> KeySpace.contains(r, key)).findFirst().orElseThrow();
    }

    /** Proposes through whichever node leads the key's range, until it applies; returns its result. */
    private static WriteResult write(LocalCluster cluster, WriteCommand.Builder command, ByteString key) throws Exception {
        RangeDescriptor range = rangeOf(key);
        byte[] bytes = command.setRangeEpoch(range.getEpoch()).setProposedAtMs(System.currentTimeMillis()).build()
                .toByteArray();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        for (long via = 1; System.nanoTime() < deadline; via = via % 3 + 1) {
            MultiRaftNode node = cluster.nodes.get(via);
            if (node == null) {
                continue;
            }
            KvStateMachine sm = sm(cluster, via);
            CompletableFuture<WriteResult> outcome = new CompletableFuture<>();
            node.propose(range.getRangeId(), bytes, new ProposalListener() {
                @Override
                public void onApplied(long groupId, long index) {
                    outcome.complete(sm.takeResult(groupId, index));
                }

                @Override
                public void onRefused(long groupId, ProposeResult result, long leaderHint) {
                    outcome.complete(null);
                }

                @Override
                public void onOutcomeUnknown(long groupId, long index) {
                    outcome.complete(null);
                }

                @Override
                public void onBusy(long groupId) {
                    outcome.complete(null);
                }
            });
            WriteResult result = outcome.get(10, TimeUnit.SECONDS);
            if (result != null) {
                return result;
            }
            LockSupport.parkNanos(5_000_000); // between attempts while an election settles
        }
        throw new AssertionError("no node applied the write within 30 s");
    }

    private static boolean holds(LocalCluster cluster, long nodeId, String key, String value) {
        KvStateMachine sm = sm(cluster, nodeId);
        ByteString k = ByteString.copyFromUtf8(key);
        GetResponse r = sm.get(rangeOf(k).getRangeId(), k);
        return r != null && r.getFound() && r.getValue().toStringUtf8().equals(value);
    }

    private static String key(int i) {
        // Spread over the ranges: the first two bytes pick the range.
        return new String(new char[] {(char) ('0' + i % 64), 'k'}) + i;
    }

    @Test
    void writesApplyOnEveryReplicaOnceAndSurviveARestart() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, this::open)) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            long sequence = 0;
            for (int i = 0; i < 40; i++) {
                ByteString k = ByteString.copyFromUtf8(key(i));
                WriteResult r = write(cluster, WriteCommand.newBuilder().setPut(PutRequest.newBuilder().setKey(k)
                        .setValue(ByteString.copyFromUtf8("v" + i))), k);
                assertThat(r.hasPut()).as("write %d: %s", i, r).isTrue();
            }
            for (long id = 1; id <= 3; id++) {
                long node = id;
                LocalCluster.waitUntil(() -> holds(cluster, node, key(39), "v39") && holds(cluster, node, key(0), "v0"),
                        20_000, "node " + node + " applied every put");
            }

            // Exactly once through the cluster: the retry is answered from the session.
            ByteString casKey = ByteString.copyFromUtf8("cas");
            WriteCommand.Builder cas = WriteCommand.newBuilder().setClientId(CLIENT).setSequence(++sequence)
                    .setFirstUnackedSequence(1).setCompareAndSet(CompareAndSetRequest.newBuilder().setKey(casKey)
                            .setExpectAbsent(true).setNewValue(ByteString.copyFromUtf8("first")));
            WriteResult first = write(cluster, cas, casKey);
            assertThat(first.getCompareAndSet().getSucceeded()).isTrue();
            assertThat(write(cluster, cas, casKey)).isEqualTo(first);

            cluster.stop(3);
            stores.remove(3L).close();
            for (int i = 40; i < 60; i++) {
                ByteString k = ByteString.copyFromUtf8(key(i));
                write(cluster, WriteCommand.newBuilder().setPut(PutRequest.newBuilder().setKey(k)
                        .setValue(ByteString.copyFromUtf8("v" + i))), k);
            }
            cluster.start(3, GROUPS);
            for (int i = 0; i < 60; i += 7) {
                int n = i;
                LocalCluster.waitUntil(() -> holds(cluster, 3, key(n), "v" + n), 20_000,
                        "restarted node 3 holds " + key(n));
            }
            LocalCluster.waitUntil(() -> holds(cluster, 3, key(59), "v59") && holds(cluster, 3, "cas", "first"), 20_000,
                    "restarted node 3 caught up");
            assertThat(write(cluster, cas, casKey)).as("the session survived the restart").isEqualTo(first);
        } finally {
            for (RocksKvStore store : stores.values()) {
                store.close();
            }
        }
    }

    @Test
    void aNodeThatMissedCompactedEntriesCatchesUpFromAnSstSnapshot() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, this::open).withSnapshots(3, 20).withWalSegmentBytes(64 << 10)) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            ByteString first = ByteString.copyFromUtf8(key(0));
            write(cluster, WriteCommand.newBuilder().setPut(PutRequest.newBuilder().setKey(first)
                    .setValue(ByteString.copyFromUtf8("v0"))), first);
            LocalCluster.waitUntil(() -> holds(cluster, 3, key(0), "v0"), 20_000, "node 3 applied the first put");
            cluster.stop(3);
            stores.remove(3L).close();
            // Enough 1 KiB values to fill many 64 KiB log segments: the log sweep asks RocksDB to flush
            // the ranges that pin old segments, and their logs compact past what node 3 has.
            ByteString value = ByteString.copyFrom(new byte[1024]);
            for (int i = 1; i <= 600; i++) {
                ByteString k = ByteString.copyFromUtf8(key(i % 3));
                write(cluster, WriteCommand.newBuilder().setPut(PutRequest.newBuilder().setKey(k).setValue(
                        i >= 598 ? ByteString.copyFromUtf8("last" + i) : value)), k);
            }
            LocalCluster.waitUntil(() -> cluster.nodes.get(1L).compactions() > 0 && cluster.nodes.get(2L).compactions() > 0,
                    30_000, "log compactions on nodes 1 and 2");
            assertThat(stores.get(1L).requestedFlushes() + stores.get(2L).requestedFlushes())
                    .as("flushes the log sweep asked for").isPositive();
            cluster.start(3, GROUPS);
            LocalCluster.waitUntil(() -> holds(cluster, 3, key(598 % 3), "last598") && holds(cluster, 3, key(599 % 3), "last599")
                    && holds(cluster, 3, key(600 % 3), "last600"), 30_000, "restarted node 3 caught up");
            LocalCluster.waitUntil(() -> cluster.snapshotCounts()[2] > 0, 30_000, "a snapshot installed");
            long[] counts = cluster.snapshotCounts();
            System.out.printf("rocks-cluster: compactions %d, snapshots sent %d, installed %d, flushes requested %d%n",
                    counts[0], counts[1], counts[2], stores.get(1L).requestedFlushes() + stores.get(2L).requestedFlushes());
            assertThat(counts[2]).as("snapshots installed").isPositive();
        } finally {
            for (RocksKvStore store : stores.values()) {
                store.close();
            }
        }
    }
}
