package io.flotilla.multiraft;

import static io.flotilla.multiraft.LocalCluster.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ProposeResult;
import io.flotilla.wal.NioWalFileSystem;
import io.flotilla.wal.WalSegmentNames;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime keeps the shared log's disk use bounded: three nodes over loopback sockets with small
 * log segments and durable registers, so logs compact and whole segments die. An idle group's old
 * records and a removed replica's tombstone would hold the first segments forever; the log sweep
 * rewrites them forward and the dead segments are deleted. Every group's data survives, and so do
 * restarts from the purged logs.
 */
class LogPurgeTest {
    private static final int GROUPS = 6;
    /** Written once at the start, then never: its records sit in the first segments. */
    private static final long IDLE_GROUP = 1;
    /** Node 3 is removed from it, leaving a tombstone in node 3's first segments. */
    private static final long SHRUNK_GROUP = GROUPS;
    private static final int RETAIN = 5;
    private static final int KEYS = 4;
    private static final int SEGMENT_BYTES = 256 << 10;
    /** 4 KiB values: the busy groups write ~8 MiB, about 30 segments, on every node. */
    private static final String PADDING = "x".repeat(4 << 10);
    private static final int WRITES_PER_BUSY_GROUP = 400;
    /** Segment files a node may keep once the writes stop: the lag window, the active one, one ahead, slack. */
    private static final int MAX_SEGMENT_FILES = 2 * LogMaintenance.LAG_SEGMENTS;

    @TempDir
    Path dir;

    private final Map<Long, Map<String, String>> expected = new ConcurrentHashMap<>();

    @Test
    void deadSegmentsAreDeletedIdleGroupsAndTombstonesAreRewrittenForwardAndRestartsRecoverEveryGroup() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, id -> new KvRegisterStateMachine(true)).overSockets(3)
                .withSnapshots(3, RETAIN).withWalSegmentBytes(SEGMENT_BYTES).keepStateMachines()) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            for (long g = 1; g <= GROUPS; g++) {
                for (int k = 0; k < KEYS; k++) {
                    write(cluster, g, "k" + k, "first-" + g + "-" + k);
                }
            }
            RegisterClient.untilApplied(cluster, 1, SHRUNK_GROUP, (node, done) ->
                    node.changeMembership(SHRUNK_GROUP, new ConfChange(ConfChangeType.REMOVE_NODE, 3), done));
            waitUntil(() -> cluster.nodes.get(3L).hostedGroups() == GROUPS - 1, 20_000, "node 3 drops its replica of group "
                    + SHRUNK_GROUP);

            // Every group but the idle one writes, in parallel, far more than the lag window holds.
            ExecutorService writers = Executors.newFixedThreadPool(GROUPS - 1);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (long g = IDLE_GROUP + 1; g <= GROUPS; g++) {
                    long group = g;
                    done.add(writers.submit(() -> {
                        for (int i = 0; i < WRITES_PER_BUSY_GROUP; i++) {
                            write(cluster, group, "k" + i % KEYS, "busy-" + group + "-" + i + "-" + PADDING);
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(120, TimeUnit.SECONDS);
                }
            } finally {
                writers.shutdownNow();
            }

            for (long id = 1; id <= 3; id++) {
                long node = id;
                assertThat(newestSegment(cluster, node)).as("node %d filled many segments", node)
                        .isGreaterThanOrEqualTo(2L * MAX_SEGMENT_FILES);
                waitUntil(() -> segmentFiles(cluster, node) <= MAX_SEGMENT_FILES, 20_000, "node " + node
                        + " purges its log down to " + MAX_SEGMENT_FILES + " segments");
                MultiRaftNode n = cluster.nodes.get(node);
                assertThat(n.logSegmentsPurged()).as("node %d", node).isPositive();
                assertThat(n.logRecordsRewritten()).as("node %d rewrote its idle group forward", node).isPositive();
                assertThat(n.logBytesRewritten()).as("node %d", node).isPositive();
            }
            for (long id = 1; id <= 3; id++) {
                assertNodeReadsExpected(cluster, id);
            }

            // Restarts recover every group from the purged logs: node 3 keeps its tombstone, node 1 its groups.
            for (long id : new long[] {3, 1}) {
                cluster.stop(id);
                MultiRaftNode restarted = cluster.start(id, GROUPS);
                waitUntil(() -> restarted.hostedGroups() == (id == 3 ? GROUPS - 1 : GROUPS), 20_000,
                        "node " + id + " hosts its groups again");
                assertNodeReadsExpected(cluster, id);
            }
            for (long g = 1; g <= GROUPS; g++) {
                write(cluster, g, "k0", "last-" + g);
            }
            for (long id = 1; id <= 3; id++) {
                assertNodeReadsExpected(cluster, id);
            }
        }
    }

    private static List<Long> segmentSequences(LocalCluster cluster, long id) {
        try {
            return new NioWalFileSystem().list(cluster.walDirectory(id)).stream().map(WalSegmentNames::parseSequence)
                    .filter(seq -> seq >= 0).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int segmentFiles(LocalCluster cluster, long id) {
        return segmentSequences(cluster, id).size();
    }

    private static long newestSegment(LocalCluster cluster, long id) {
        return segmentSequences(cluster, id).stream().mapToLong(Long::longValue).max().orElse(0);
    }

    private void write(LocalCluster cluster, long group, String key, String value) throws Exception {
        byte[] command = KvRegisterStateMachine.write(key, value);
        RegisterClient.untilApplied(cluster, 1, group, (node, done) -> node.propose(group, command, done));
        expected.computeIfAbsent(group, x -> new ConcurrentHashMap<>()).put(key, value);
    }

    /** Linearizable reads through node {@code via} return the last value written to every key of its groups. */
    private void assertNodeReadsExpected(LocalCluster cluster, long via) throws Exception {
        for (long g = 1; g <= GROUPS; g++) {
            if (via == 3 && g == SHRUNK_GROUP) {
                continue;
            }
            assertThat(RegisterClient.readAll(cluster, via, g, KEYS)).as("group %d on node %d", g, via).isEqualTo(new HashMap<>(expected.get(g)));
        }
    }
}
