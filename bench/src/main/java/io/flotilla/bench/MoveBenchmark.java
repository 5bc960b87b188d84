package io.flotilla.bench;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveReplicaResponse;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.NodePlacement;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.KeySpace;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.function.LongFunction;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * What moving a replica costs: a local 4-process cluster (fsync on, automatic splits and the
 * balancer off) of {@code --ranges} ranges, each on three of the four nodes; one range is loaded
 * with {@code --mib} MiB of incompressible values, then an open-loop writer puts at {@code --rate}
 * writes per second to that range's keys (latency from each write's due time, so a stall counts in
 * full) while the range's replica on one node — a follower, or its leader — is moved to the node
 * that holds none. Reports the time from the move command to the move listed as ended DONE, to the
 * target having applied the leader's commit index, when each step was first seen, the snapshot's
 * bytes, and the writes' percentiles in the {@code --seconds-before} seconds before against the move
 * (command to DONE). Each run is a fresh cluster. The last line is
 * {@code move-bench: <mib> MiB, <n> moves, done in <min>-<max> ms, write p99 <min>-<max> ms during vs <min>-<max> ms before}.
 * With {@code --decommission}, instead: {@code --decommission-ranges} ranges loaded with
 * {@code --decommission-mib} MiB over the whole key space, writes over it, node 4 drained until it
 * holds no replica.
 */
@Command(name = "MoveBenchmark", mixinStandardHelpOptions = true,
        description = "Moves a loaded range's replica under writes and reports the move's time and the writes' latency.")
public final class MoveBenchmark implements Callable<Integer> {
    private static final int NODES = 4;
    private static final long POLL_MS = 20;

    @Option(names = "--mib", defaultValue = "128", description = "MiB of values loaded into the moved range (default: ${DEFAULT-VALUE})")
    int mib;

    @Option(names = "--value-size", defaultValue = "1024", description = "bytes per value (default: ${DEFAULT-VALUE})")
    int valueSize;

    @Option(names = "--rate", defaultValue = "1000", description = "writes per second during the measurement (default: ${DEFAULT-VALUE})")
    int rate;

    @Option(names = "--ranges", defaultValue = "4", description = "ranges the cluster starts with (default: ${DEFAULT-VALUE})")
    int ranges;

    @Option(names = "--runs", defaultValue = "3", description = "fresh clusters per kind of move (default: ${DEFAULT-VALUE})")
    int runs;

    @Option(names = "--from", defaultValue = "both",
            description = "which replica moves: follower, leader or both (a run of each) (default: ${DEFAULT-VALUE})")
    String from;

    @Option(names = "--seconds-before", defaultValue = "10", description = "measured seconds of writes before the move (default: ${DEFAULT-VALUE})")
    int secondsBefore;

    @Option(names = "--seconds-after", defaultValue = "5", description = "seconds of writes after the move (default: ${DEFAULT-VALUE})")
    int secondsAfter;

    @Option(names = "--timeout-seconds", defaultValue = "180", description = "how long a move or drain may take before the run fails (default: ${DEFAULT-VALUE})")
    int timeoutSeconds;

    @Option(names = "--decommission", description = "measure a drain of node 4 (flotilla decommission) instead of single moves")
    boolean decommission;

    @Option(names = "--decommission-ranges", defaultValue = "16", description = "ranges for --decommission (default: ${DEFAULT-VALUE})")
    int decommissionRanges;

    @Option(names = "--decommission-mib", defaultValue = "128",
            description = "MiB loaded over the whole key space for --decommission (default: ${DEFAULT-VALUE})")
    int decommissionMib;

    @Option(names = "--snapshot-mib-per-s", defaultValue = "0",
            description = "cap on each node's outgoing snapshots together, as flotilla balance --snapshot-mib-per-s (0, the default: none)")
    int snapshotMibPerSecond;

    @Option(names = "--data-dir", description = "where the nodes keep their data, a directory per run (default: temporary directories, deleted)")
    Path dataDir;

    public static void main(String[] args) {
        System.exit(new CommandLine(new MoveBenchmark()).execute(args));
    }

    private static byte[] key(long i) {
        return String.format("key-%012d", i).getBytes(StandardCharsets.UTF_8);
    }

    /** Key {@code i} of {@code keys}, spread evenly over the two-byte prefixes the initial ranges tile. */
    private static byte[] spreadKey(long i, long keys) {
        int prefix = (int) (i * 65_536 / keys);
        byte[] rest = key(i);
        byte[] k = new byte[rest.length + 2];
        k[0] = (byte) (prefix >>> 8);
        k[1] = (byte) prefix;
        System.arraycopy(rest, 0, k, 2, rest.length);
        return k;
    }

    /** One move's figures. */
    private record MoveRun(String kind, long rangeId, long fromNode, long toNode, long leaderBefore, double answeredMs,
            double caughtUpMs, double doneMs, double serverMs, long snapshotBytes, double[] phaseMs, Map<MoveStep, Double> stepSeenMs,
            Histogram before, Histogram during, Histogram after, long errors, long leaderAfter, long snapshotsInstalled) {
    }

    @Override
    public Integer call() throws Exception {
        if (decommission) {
            return decommissionRun();
        }
        List<String> kinds = switch (from) {
            case "both" -> List.of("follower", "leader");
            case "follower", "leader" -> List.of(from);
            default -> throw new CommandLine.ParameterException(new CommandLine(this),
                    "--from takes follower, leader or both, not '" + from + "'");
        };
        List<MoveRun> results = new ArrayList<>();
        for (int run = 1; run <= runs; run++) {
            for (String kind : kinds) {
                System.out.printf("%n=== run %d of %d: move of a %s's replica ===%n", run, runs, kind);
                Path dir = dataDir == null ? null : dataDir.resolve("run-" + run + "-" + kind);
                MoveRun r = moveRun(dir, kind);
                results.add(r);
                printRun(r);
            }
        }
        printTable(results);
        return 0;
    }

    private FlotillaClient client(LocalBenchCluster cluster) {
        return FlotillaClient.builder().seeds(cluster.clientAddresses().toArray(String[]::new))
                .clusterId(cluster.clusterId()).requestTimeout(Duration.ofSeconds(30)).maxInFlight(20_000).build();
    }

    private static List<String> nodeFlags() {
        return List.of("--split-size-mib", "0", "--split-load-ops", "0");
    }

    private MoveRun moveRun(Path dir, String kind) throws Exception {
        long keys = ((long) mib << 20) / valueSize;
        try (LocalBenchCluster cluster = LocalBenchCluster.start(dir, NODES, ranges, List.of(), nodeFlags(), System.out);
                FlotillaClient client = client(cluster)) {
            client.updateSettings(UpdateSettingsRequest.newBuilder().setBalancer(BalancerSwitch.BALANCER_OFF)
                    .setSnapshotSendBytesPerSecond((long) snapshotMibPerSecond << 20).build()).join();
            RangeDescriptor range = rangeOf(client, cluster, key(0));
            if (!KeySpace.contains(range, ByteString.copyFrom(key(keys - 1)))) {
                throw new IllegalStateException("the loaded keys span more than range " + range.getRangeId()
                        + ": start the cluster with fewer --ranges");
            }
            long target = 0;
            for (long node = 1; node <= NODES && target == 0; node++) {
                long n = node;
                if (range.getReplicasList().stream().noneMatch(r -> r.getNodeId() == n)) {
                    target = node;
                }
            }
            if (target == 0) {
                throw new IllegalStateException("range " + range.getRangeId() + " is on every node: nowhere to move it");
            }
            long loadStart = System.nanoTime();
            load(client, keys, MoveBenchmark::key);
            System.out.printf("loaded %d keys, %d MiB of %d-byte values into range %d (nodes %s), in %.1f s%n", keys, mib,
                    valueSize, range.getRangeId(), nodesOf(range), (System.nanoTime() - loadStart) / 1e9);

            Recorder recorder = new Recorder(3);
            OpenLoopWriter writer = new OpenLoopWriter(client, rate, valueSize, keys, i -> key(i), recorder);
            Thread thread = new Thread(writer, "move-bench-writer");
            thread.start();
            try {
                Thread.sleep(2_000); // the writer settles
                recorder.getIntervalHistogram();
                Thread.sleep(secondsBefore * 1000L);

                RangeStatus leaderStatus = leaderStatus(client, cluster, range);
                long leader = leaderStatus.getLeaderNodeId();
                long fromNode = leader;
                if (kind.equals("follower")) {
                    fromNode = range.getReplicasList().stream().mapToLong(ReplicaDescriptor::getNodeId)
                            .filter(n -> n != leader).min().orElseThrow();
                }
                Histogram before = recorder.getIntervalHistogram();
                String targetAddress = cluster.clientAddress((int) target);
                long installedBefore = client.nodeStatus(targetAddress).join().getSnapshotsInstalled();
                long t0 = System.nanoTime();
                MoveReplicaResponse moved = client.moveReplica(range.getRangeId(), fromNode, target, "move benchmark").join();
                double answeredMs = (System.nanoTime() - t0) / 1e6;
                MoveRecord record = moved.getMove();
                System.out.printf("move of range %d from node %d (%s; node %d led, commit index %d) to node %d recorded in"
                        + " %.1f ms%n", range.getRangeId(), fromNode, kind, leader, leaderStatus.getCommitIndex(), target,
                        answeredMs);

                Map<MoveStep, Double> stepSeenMs = new EnumMap<>(MoveStep.class);
                long snapshotBytes = 0;
                long lastCommit = leaderStatus.getCommitIndex();
                double caughtUpMs = -1;
                double doneMs = -1;
                double serverMs = -1;
                double[] phaseMs = {-1, -1, -1}; // snapshot streaming seen, all sent seen, target installed it
                long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
                long caughtUpDeadline = Long.MAX_VALUE;
                while (doneMs < 0 || (caughtUpMs < 0 && System.nanoTime() - caughtUpDeadline < 0)) {
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("the move did not end within " + timeoutSeconds + " s; see the"
                                + " nodes' logs (--data-dir keeps them)");
                    }
                    ListMovesResponse list = client.listMoves().join();
                    double nowMs = (System.nanoTime() - t0) / 1e6;
                    for (MoveProgress p : list.getMovesList()) {
                        if (p.getMove().equals(record)) {
                            trace(nowMs, p);
                            stepSeenMs.putIfAbsent(p.getStep(), nowMs);
                            snapshotBytes = Math.max(snapshotBytes, p.getSnapshotBytesTotal());
                            lastCommit = Math.max(lastCommit, p.getCommitIndex());
                            if (p.getSnapshotBytesTotal() > 0 && phaseMs[0] < 0) {
                                phaseMs[0] = nowMs;
                            }
                            if (p.getSnapshotBytesTotal() > 0 && p.getSnapshotBytesSent() >= p.getSnapshotBytesTotal()
                                    && phaseMs[1] < 0) {
                                phaseMs[1] = nowMs;
                            }
                        }
                    }
                    for (MoveProgress p : list.getEndedList()) {
                        if (doneMs < 0 && p.getMove().equals(record)) {
                            if (p.getStep() != MoveStep.MOVE_DONE) {
                                throw new IllegalStateException("the move ended " + p.getStep() + ": " + p.getMessage());
                            }
                            stepSeenMs.putIfAbsent(MoveStep.MOVE_DONE, nowMs);
                            snapshotBytes = Math.max(snapshotBytes, p.getSnapshotBytesTotal());
                            doneMs = nowMs;
                            serverMs = p.getEndedAtMs() - p.getMove().getStartedAtMs();
                            caughtUpDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
                        }
                    }
                    if (caughtUpMs < 0 || phaseMs[2] < 0) {
                        NodeStatusResponse status = client.nodeStatus(targetAddress).join();
                        double atMs = (System.nanoTime() - t0) / 1e6;
                        if (phaseMs[2] < 0 && status.getSnapshotsInstalled() > installedBefore) {
                            phaseMs[2] = atMs;
                            System.out.printf("  %6.0f ms  node %d installed a snapshot (applied index %d)%n", atMs, target,
                                    appliedIndex(status, range.getRangeId()));
                        }
                        if (caughtUpMs < 0 && appliedIndex(status, range.getRangeId()) >= lastCommit) {
                            caughtUpMs = atMs;
                        }
                    }
                    Thread.sleep(POLL_MS);
                }
                Histogram during = recorder.getIntervalHistogram();
                System.out.printf("snapshot streaming first seen %.0f ms after the command, installed on node %d by %.0f ms;"
                        + " %s%n", phaseMs[0], target, phaseMs[2], snapshotMetrics(cluster, leader, target));
                Thread.sleep(secondsAfter * 1000L);
                Histogram after = recorder.getIntervalHistogram();
                long leaderAfter = leaderStatus(client, cluster, rangeOf(client, cluster, key(0))).getLeaderNodeId();
                long installs = client.nodeStatus(targetAddress).join().getSnapshotsInstalled() - installedBefore;
                writer.stop = true;
                thread.join(30_000);
                return new MoveRun(kind, range.getRangeId(), fromNode, target, leader, answeredMs, caughtUpMs, doneMs,
                        serverMs, snapshotBytes, phaseMs, stepSeenMs, before, during, after, writer.errors.get(), leaderAfter, installs);
            } finally {
                writer.stop = true;
                thread.join(30_000);
            }
        }
    }

    /**
     * The range holding {@code key}, as the meta range's replica on node 1 records it (waiting, at
     * a new cluster's start, until the ranges' leaders have recorded them).
     */
    private static RangeDescriptor rangeOf(FlotillaClient client, LocalBenchCluster cluster, byte[] key)
            throws InterruptedException {
        ByteString k = ByteString.copyFrom(key);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() - deadline < 0) {
            for (RangeDescriptor r : client.routeLookup(cluster.clientAddress(1)).join().getRangesList()) {
                if (KeySpace.contains(r, k)) {
                    return r;
                }
            }
            Thread.sleep(100);
        }
        throw new IllegalStateException("node 1 knows no range holding " + k.toStringUtf8() + " after 30 s");
    }

    /** The range's status on its leader, found by asking its replicas until one leads (an election may be under way). */
    private static RangeStatus leaderStatus(FlotillaClient client, LocalBenchCluster cluster, RangeDescriptor range)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() - deadline < 0) {
            for (int node = 1; node <= NODES; node++) {
                NodeStatusResponse status = client.nodeStatus(cluster.clientAddress(node)).join();
                for (RangeStatus s : status.getRangeStatusList()) {
                    if (s.getRange().getRangeId() == range.getRangeId() && s.getLeader()) {
                        return s;
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("no replica of range " + range.getRangeId() + " led within 30 s");
    }

    /**
     * The snapshot timings the nodes' metrics give (the source's send histogram from queueing to
     * arrival, the target's install histogram), from each node's metrics port, its client port + 1.
     */
    private static String snapshotMetrics(LocalBenchCluster cluster, long source, long target) {
        return "source node " + source + ": " + metric(cluster, source, "flotilla_snapshot_send_seconds") + "; target node "
                + target + ": " + metric(cluster, target, "flotilla_snapshot_install_seconds");
    }

    private static String metric(LocalBenchCluster cluster, long node, String histogram) {
        String address = cluster.clientAddress((int) node);
        int colon = address.lastIndexOf(':');
        String url = "http://" + address.substring(0, colon) + ":" + (Integer.parseInt(address.substring(colon + 1)) + 1)
                + "/metrics";
        try {
            java.net.http.HttpResponse<String> response = java.net.http.HttpClient.newHttpClient().send(
                    java.net.http.HttpRequest.newBuilder(java.net.URI.create(url)).timeout(Duration.ofSeconds(5)).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            double sum = 0;
            double count = 0;
            for (String line : response.body().split("\n")) {
                if (line.startsWith(histogram + "_sum")) {
                    sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                } else if (line.startsWith(histogram + "_count")) {
                    count += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
                }
            }
            return String.format("%s %.0f ms over %.0f", histogram, sum * 1e3, count);
        } catch (Exception e) {
            return histogram + " unavailable (" + e + ")";
        }
    }

    private String lastTrace = "";
    private double lastTraceMs = -1e9;

    /** Prints the move's progress when its step or snapshot changes, or every second. */
    private void trace(double nowMs, MoveProgress p) {
        String state = p.getStep() + " " + p.getSnapshotBytesTotal();
        if (!state.equals(lastTrace) || nowMs - lastTraceMs >= 1000) {
            System.out.printf("  %6.0f ms  %s, snapshot %.1f of %.1f MiB, target match %d, commit %d: %s%n", nowMs,
                    p.getStep(), p.getSnapshotBytesSent() / 1048576.0, p.getSnapshotBytesTotal() / 1048576.0,
                    p.getTargetMatchIndex(), p.getCommitIndex(), p.getMessage());
            lastTrace = state;
            lastTraceMs = nowMs;
        }
    }

    private static long appliedIndex(NodeStatusResponse status, long rangeId) {
        for (RangeStatus s : status.getRangeStatusList()) {
            if (s.getRange().getRangeId() == rangeId) {
                return s.getAppliedIndex();
            }
        }
        return 0;
    }

    private static String nodesOf(RangeDescriptor range) {
        return range.getReplicasList().stream().map(r -> Long.toString(r.getNodeId())).toList().toString();
    }

    private void printRun(MoveRun r) {
        System.out.printf("range %d, node %d -> node %d (%s; leader before %d, after %d): recorded %.0f ms, target caught"
                + " up %.0f ms, listed DONE %.0f ms after the command (%.0f ms by the meta leader's clock); snapshot %.1f MiB,"
                + " installed %d times%n",
                r.rangeId(), r.fromNode(), r.toNode(), r.kind(), r.leaderBefore(), r.leaderAfter(), r.answeredMs(),
                r.caughtUpMs(), r.doneMs(), r.serverMs(), r.snapshotBytes() / 1048576.0, r.snapshotsInstalled());
        StringBuilder steps = new StringBuilder("steps first seen (ms after the command):");
        r.stepSeenMs().forEach((step, ms) -> steps.append(String.format(" %s %.0f", step.name().substring(5), ms)));
        System.out.println(steps);
        printLatency("before", r.before(), "");
        printLatency("during", r.during(), " (command to DONE)");
        printLatency("after", r.after(), String.format("; %d errors", r.errors()));
    }

    private void printLatency(String label, Histogram h, String note) {
        System.out.printf("writes at %d/s, %-6s p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms (%d writes)%s%n", rate,
                label, ms(h, 50), ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1e6, h.getTotalCount(), note);
    }

    private void printTable(List<MoveRun> results) {
        System.out.printf("%n%-8s %-8s %8s %5s %9s %9s %9s %8s %9s | %-28s | %-28s | %6s%n", "moved", "nodes", "snap MiB",
                "snaps", "snap seen", "installed", "caught up", "DONE", "p99 ratio", "write p50/p99/p99.9/max before", "during the move", "errors");
        double doneMin = Double.MAX_VALUE;
        double doneMax = 0;
        double p99DuringMin = Double.MAX_VALUE;
        double p99DuringMax = 0;
        double p99BeforeMin = Double.MAX_VALUE;
        double p99BeforeMax = 0;
        for (MoveRun r : results) {
            System.out.printf("%-8s %-8s %8.1f %5d %6.0f ms %6.0f ms %6.0f ms %5.0f ms %8.1fx | %-28s | %-28s | %6d%n", r.kind(),
                    r.fromNode() + "->" + r.toNode(), r.snapshotBytes() / 1048576.0, r.snapshotsInstalled(), r.phaseMs()[0], r.phaseMs()[2],
                    r.caughtUpMs(), r.doneMs(),
                    ms(r.during(), 99) / Math.max(1e-9, ms(r.before(), 99)), percentiles(r.before()),
                    percentiles(r.during()), r.errors());
            doneMin = Math.min(doneMin, r.doneMs());
            doneMax = Math.max(doneMax, r.doneMs());
            p99DuringMin = Math.min(p99DuringMin, ms(r.during(), 99));
            p99DuringMax = Math.max(p99DuringMax, ms(r.during(), 99));
            p99BeforeMin = Math.min(p99BeforeMin, ms(r.before(), 99));
            p99BeforeMax = Math.max(p99BeforeMax, ms(r.before(), 99));
        }
        System.out.printf("move-bench: %d MiB, %d moves, done in %.0f-%.0f ms, write p99 %.1f-%.1f ms during vs %.1f-%.1f ms"
                + " before%n", mib, results.size(), doneMin, doneMax, p99DuringMin, p99DuringMax, p99BeforeMin, p99BeforeMax);
    }

    private static String percentiles(Histogram h) {
        return String.format("%.1f/%.1f/%.1f/%.0f ms", ms(h, 50), ms(h, 99), ms(h, 99.9), h.getMaxValue() / 1e6);
    }

    private static double ms(Histogram h, double percentile) {
        return h.getTotalCount() == 0 ? 0 : h.getValueAtPercentile(percentile) / 1e6;
    }

    /** Node 4 drained (flotilla decommission) in a cluster of {@code --decommission-ranges} ranges under writes. */
    private int decommissionRun() throws Exception {
        long keys = ((long) decommissionMib << 20) / valueSize;
        try (LocalBenchCluster cluster = LocalBenchCluster.start(dataDir, NODES, decommissionRanges, List.of(), nodeFlags(),
                System.out); FlotillaClient client = client(cluster)) {
            long loadStart = System.nanoTime();
            load(client, keys, i -> spreadKey(i, keys));
            System.out.printf("loaded %d keys, %d MiB of %d-byte values over %d ranges, in %.1f s%n", keys, decommissionMib,
                    valueSize, decommissionRanges, (System.nanoTime() - loadStart) / 1e9);
            System.out.println("replicas per node before: " + placements(client.listMoves().join()));

            Recorder recorder = new Recorder(3);
            OpenLoopWriter writer = new OpenLoopWriter(client, rate, valueSize, keys, i -> spreadKey(i, keys), recorder);
            Thread thread = new Thread(writer, "move-bench-writer");
            thread.start();
            try {
                Thread.sleep(2_000);
                recorder.getIntervalHistogram();
                Thread.sleep(secondsBefore * 1000L);
                Histogram before = recorder.getIntervalHistogram();
                long t0 = System.nanoTime();
                client.updateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(NODES)
                        .setSnapshotSendBytesPerSecond((long) snapshotMibPerSecond << 20).build()).join();
                int maxInProgress = 0;
                long deadline = t0 + TimeUnit.SECONDS.toNanos(timeoutSeconds);
                ListMovesResponse list;
                while (true) {
                    list = client.listMoves().join();
                    maxInProgress = Math.max(maxInProgress, list.getMovesCount());
                    NodePlacement drained = list.getNodesList().stream().filter(n -> n.getNodeId() == NODES).findFirst()
                            .orElse(null);
                    if (drained != null && drained.getReplicas() == 0 && list.getMovesCount() == 0) {
                        break;
                    }
                    if (System.nanoTime() - deadline > 0) {
                        throw new IllegalStateException("node " + NODES + " still holds replicas after " + timeoutSeconds
                                + " s: " + placements(list));
                    }
                    Thread.sleep(100);
                }
                double drainMs = (System.nanoTime() - t0) / 1e6;
                Histogram during = recorder.getIntervalHistogram();
                long done = list.getEndedList().stream().filter(p -> p.getStep() == MoveStep.MOVE_DONE).count();
                long failed = list.getEndedList().stream().filter(p -> p.getStep() == MoveStep.MOVE_FAILED).count();
                Thread.sleep(secondsAfter * 1000L);
                Histogram after = recorder.getIntervalHistogram();
                writer.stop = true;
                thread.join(30_000);
                System.out.println("replicas per node after: " + placements(list));
                System.out.printf("drain of node %d: %.1f s until it held no replica; %d moves done, %d failed (of the last"
                        + " 32 listed), at most %d in progress at once%n", NODES, drainMs / 1e3, done, failed, maxInProgress);
                printLatency("before", before, "");
                printLatency("during", during, " (command to node 4 empty)");
                printLatency("after", after, String.format("; %d errors", writer.errors.get()));
                System.out.printf("decommission-bench: %d ranges, %d MiB, node %d drained in %.1f s, %d moves, write p99"
                        + " %.1f ms during vs %.1f ms before, %d errors%n", decommissionRanges, decommissionMib, NODES,
                        drainMs / 1e3, done, ms(during, 99), ms(before, 99), writer.errors.get());
            } finally {
                writer.stop = true;
                thread.join(30_000);
            }
        }
        return 0;
    }

    private static String placements(ListMovesResponse list) {
        StringBuilder s = new StringBuilder();
        for (NodePlacement n : list.getNodesList()) {
            s.append(String.format("node %d: %d replicas, %d leaders%s; ", n.getNodeId(), n.getReplicas(), n.getLeaders(),
                    n.getDraining() ? " (draining)" : ""));
        }
        return s.toString();
    }

    /** Puts every key once, 512 in flight. */
    private void load(FlotillaClient client, long keys, LongFunction<byte[]> keyOf) throws InterruptedException {
        Semaphore inflight = new Semaphore(512);
        SplittableRandom random = new SplittableRandom(1);
        List<CompletableFuture<Void>> failures = new ArrayList<>();
        for (long i = 0; i < keys; i++) {
            byte[] value = new byte[valueSize];
            for (int b = 0; b < valueSize; b += 8) {
                long r = random.nextLong();
                for (int j = 0; j < 8 && b + j < valueSize; j++) {
                    value[b + j] = (byte) (r >>> (8 * j));
                }
            }
            inflight.acquire();
            CompletableFuture<Void> put = client.put(keyOf.apply(i), value);
            put.whenComplete((v, e) -> inflight.release());
            if (i % 4096 == 0) {
                failures.add(put);
            }
        }
        inflight.acquire(512);
        CompletableFuture.allOf(failures.toArray(CompletableFuture[]::new)).join();
    }
}
