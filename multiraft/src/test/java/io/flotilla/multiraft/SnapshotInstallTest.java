package io.flotilla.multiraft;

import static io.flotilla.multiraft.LocalCluster.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.ProposeResult;
import io.flotilla.transport.snapshot.SnapshotObserver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Log compaction and snapshot installs through the runtime: three nodes over loopback sockets with
 * real logs and the real snapshot channel. Nodes 1 and 2 keep durable registers, so their logs are
 * compacted; node 3 keeps its registers in memory only, so it must restore from the image it
 * received every time it restarts.
 */
class SnapshotInstallTest {
    private static final int GROUPS = 8;
    private static final int RETAIN = 20;
    private static final int KEYS = 30;
    private static final String PADDING = "x".repeat(90);

    @TempDir
    Path dir;

    private final Map<Long, Map<String, String>> expected = new HashMap<>();

    @Test
    void aFollowerBehindTheCompactedLogCatchesUpBySnapshotsThatResumeAfterABreakAndSurviveItsRestart() throws Exception {
        try (LocalCluster cluster = new LocalCluster(dir, 2, id -> new KvRegisterStateMachine(id != 3)).overSockets(3)
                .withSnapshots(3, RETAIN)) {
            for (long id = 1; id <= 3; id++) {
                cluster.start(id, GROUPS);
            }
            Map<Long, Observed> observed = new HashMap<>();
            for (long id = 1; id <= 3; id++) {
                observed.put(id, new Observed());
                cluster.snapshotStreams.get(id).observe(observed.get(id));
            }
            writeRound(cluster, "a", 1);

            // Node 3 falls behind while the others move far past what their logs retain.
            cluster.isolate(3);
            for (int round = 0; round < 6; round++) {
                writeRound(cluster, "b" + round, 1 + round % 2);
            }
            waitUntil(() -> cluster.nodes.get(1L).compactions() + cluster.nodes.get(2L).compactions() >= GROUPS,
                    10_000, "the leaders compact their logs");

            // The first transfer from each leader breaks after 1 KiB of chunks and resumes.
            cluster.snapshotFailpoints.get(1L).cutConnectionAtOffset.set(1024);
            cluster.snapshotFailpoints.get(2L).cutConnectionAtOffset.set(1024);
            cluster.heal();
            waitUntil(() -> cluster.nodes.get(3L).snapshotsInstalled() >= GROUPS, 20_000,
                    "node 3 installs a snapshot of every group");
            long sent = cluster.nodes.get(1L).snapshotsSent() + cluster.nodes.get(2L).snapshotsSent();
            long resumes = cluster.snapshotStreams.get(1L).senderStats().resumes()
                    + cluster.snapshotStreams.get(2L).senderStats().resumes();
            assertThat(sent).isGreaterThanOrEqualTo(GROUPS);
            assertThat(resumes).as("transfers resumed after the cut connection").isPositive();
            // What a node's metrics hear: every image sent and installed, with its size and duration.
            Observed installed = observed.get(3L);
            assertThat(installed.installs.get()).isEqualTo(cluster.nodes.get(3L).snapshotsInstalled());
            assertThat(installed.installedBytes.get()).isGreaterThanOrEqualTo(installed.installs.get());
            assertThat(installed.installNs.get()).isPositive();
            long observedSends = observed.get(1L).sends.get() + observed.get(2L).sends.get();
            assertThat(observedSends).isGreaterThanOrEqualTo(GROUPS);
            assertThat(observed.get(1L).sentBytes.get() + observed.get(2L).sentBytes.get()).isGreaterThanOrEqualTo(observedSends);
            assertNodeReadsExpected(cluster, 3);

            // Restarted with an empty in-memory state machine, node 3 restores the image it kept and
            // replays the log after it; then it keeps up with new writes.
            cluster.stop(3);
            cluster.start(3, GROUPS);
            assertNodeReadsExpected(cluster, 3);
            writeRound(cluster, "c", 3);
            assertNodeReadsExpected(cluster, 3);
        }
    }

    /**
     * Node 3 restarts with its log compacted past an empty state machine and without the images
     * that could rebuild it (lost, or a state machine whose durable index lagged the compaction).
     * Its log is intact after the compaction point, so each replica rejoins its group as a
     * follower that asks its leader for a snapshot (issue 8, item 9); until it installs one it
     * applies nothing and does not campaign. Before, those groups stayed down on node 3 for good.
     */
    @Test
    void aReplicaWhoseStateMachineLagsItsCompactedLogAsksItsLeaderForASnapshotAndServesAgain() throws Exception {
        try (LocalCluster cluster = node3BehindCompactedLogs()) {
            cluster.heal();
            waitUntil(() -> cluster.nodes.get(3L).snapshotsInstalled() >= GROUPS, 20_000,
                    "node 3 installs a snapshot of every group");

            cluster.stop(3);
            try (var images = Files.list(dir.resolve("snapshots3"))) {
                for (Path image : images.toList()) {
                    Files.delete(image);
                }
            }
            MultiRaftNode restarted = cluster.start(3, GROUPS);
            waitUntil(() -> restarted.snapshotsInstalled() >= GROUPS, 20_000,
                    "node 3 asks for and installs a snapshot of every group again");
            assertThat(restarted.hostedGroups()).isEqualTo(GROUPS);
            assertThat(restarted.failure()).as("node 3 runs").isNull();
            assertNodeReadsExpected(cluster, 3);
            writeRound(cluster, "c", 3);
            assertNodeReadsExpected(cluster, 3);
            assertThat(restarted.failure()).as("node 3 still runs").isNull();
        }
    }

    /**
     * While a leader's snapshot crawls to node 3, writes run far past what its log retains. The
     * leader keeps the entries after the snapshot's index until node 3 installed it, so node 3 goes
     * on from the log: one snapshot per group. Before, the leader compacted past the snapshot in
     * flight and node 3, once it installed it, needed a second one (moves of a 128 MiB range took
     * 8-19 s instead of 3-4).
     */
    @Test
    void aLeaderKeepsTheLogAfterASnapshotInFlightSoTheFollowerNeedsOnlyOne() throws Exception {
        try (LocalCluster cluster = node3BehindCompactedLogs()) {

            // About 3 KiB per image at 2 KiB/s a sender: each transfer takes a second or more.
            cluster.snapshotStreams.get(1L).rateLimit(2048);
            cluster.snapshotStreams.get(2L).rateLimit(2048);
            long compactionsBefore = cluster.nodes.get(1L).compactions() + cluster.nodes.get(2L).compactions();
            cluster.heal();
            waitUntil(() -> cluster.snapshotStreams.get(1L).senderStats().sendsRequested()
                    + cluster.snapshotStreams.get(2L).senderStats().sendsRequested() >= 1, 10_000,
                    "a leader starts sending node 3 a snapshot");
            for (int round = 0; round < 4; round++) {
                writeRound(cluster, "c" + round, 1);
            }
            cluster.snapshotStreams.get(1L).rateLimit(0);
            cluster.snapshotStreams.get(2L).rateLimit(0);

            waitUntil(() -> cluster.nodes.get(3L).snapshotsInstalled() >= GROUPS, 20_000,
                    "node 3 installs a snapshot of every group");
            assertNodeReadsExpected(cluster, 3);
            writeRound(cluster, "d", 3);
            assertNodeReadsExpected(cluster, 3);
            waitUntil(() -> cluster.nodes.get(1L).compactions() + cluster.nodes.get(2L).compactions() > compactionsBefore,
                    10_000, "the leaders compact their logs again once node 3 caught up");
            assertThat(cluster.nodes.get(3L).snapshotsInstalled()).as("snapshots node 3 installed").isEqualTo(GROUPS);
        }
    }

    /**
     * Three nodes over sockets (node 3 keeps its registers in memory), node 3 cut off while six
     * write rounds go by and the leaders compact their logs past what it holds. Node 3 stays cut off.
     */
    private LocalCluster node3BehindCompactedLogs() throws Exception {
        LocalCluster cluster = new LocalCluster(dir, 2, id -> new KvRegisterStateMachine(id != 3)).overSockets(3)
                .withSnapshots(3, RETAIN);
        for (long id = 1; id <= 3; id++) {
            cluster.start(id, GROUPS);
        }
        cluster.isolate(3);
        for (int round = 0; round < 6; round++) {
            writeRound(cluster, "b" + round, 1 + round % 2);
        }
        waitUntil(() -> cluster.nodes.get(1L).compactions() + cluster.nodes.get(2L).compactions() >= GROUPS,
                10_000, "the leaders compact their logs");
        return cluster;
    }

    /** One write of every key of every group, proposed through node {@code via} (redirected to the leader). */
    private void writeRound(LocalCluster cluster, String tag, long via) throws Exception {
        for (long g = 1; g <= GROUPS; g++) {
            for (int k = 0; k < KEYS; k++) {
                String key = "k" + k;
                // ~100 bytes per register: an image spans several 512-byte chunks.
                String value = tag + "-" + g + "-" + k + "-" + PADDING;
                RegisterClient.write(cluster, via, g, key, value);
                expected.computeIfAbsent(g, x -> new HashMap<>()).put(key, value);
            }
        }
    }

    /** Linearizable reads through node {@code via} return the last value written to every key. */
    private void assertNodeReadsExpected(LocalCluster cluster, long via) throws Exception {
        for (long g = 1; g <= GROUPS; g++) {
            Map<String, String> actual = RegisterClient.readAll(cluster, via, g, KEYS);
            assertThat(actual).as("group %d on node %d", g, via).isEqualTo(expected.get(g));
        }
    }

    /** Records what a node's snapshot observer hears (the sender's I/O thread and the workers write it). */
    private static final class Observed implements SnapshotObserver {
        final AtomicLong sends = new AtomicLong();
        final AtomicLong sentBytes = new AtomicLong();
        final AtomicLong installs = new AtomicLong();
        final AtomicLong installedBytes = new AtomicLong();
        final AtomicLong installNs = new AtomicLong();

        @Override
        public void sent(long bytes, long durationNs) {
            sends.incrementAndGet();
            sentBytes.addAndGet(bytes);
        }

        @Override
        public void installed(long bytes, long durationNs) {
            installs.incrementAndGet();
            installedBytes.addAndGet(bytes);
            installNs.addAndGet(durationNs);
        }
    }
}
