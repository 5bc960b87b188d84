package io.flotilla.bench.load;

import io.flotilla.bench.BenchEnv;
import io.flotilla.bench.FlightRecordingDump;
import io.flotilla.bench.JfrProfile;
import io.flotilla.bench.LocalBenchCluster;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.ReadConsistency;
import io.flotilla.tools.StatusCommand;
import io.flotilla.tools.StatusCommand.NodeReport;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flotilla bench}: the cluster load generator. Drives a running cluster ({@code --seeds}) or
 * a local 3-process cluster it starts and stops itself, through the Java client, in a closed loop
 * ({@code --inflight} operations outstanding) or an open loop ({@code --rate} operations per second,
 * latency from each operation's due time). Prints a progress line each second, then a latency table,
 * the errors by type, and what each node spent (from its own NodeStatus counters); its last line is
 * always {@code bench: <ops> ops/s, p50 <ms> ms, p99 <ms> ms, <errors> errors}. The command's main
 * thread owns the run; see {@link ClosedLoop} and {@link OpenLoop} for the threads that send.
 */
@Command(name = "flotilla bench", mixinStandardHelpOptions = true, version = "flotilla bench 0.1.0", sortOptions = false,
        usageHelpWidth = 110,
        description = {"Measures a cluster under load through the Java client: throughput, latency percentiles, errors by",
                "type, and per node the CPU per operation, log entries per fsync, messages per peer flush and threads.",
                "Without --seeds it starts a local cluster of 3 node processes (data in a temporary directory unless",
                "--data-dir), runs, prints, and stops it. The last line is always:",
                "  bench: <ops> ops/s, p50 <ms> ms, p99 <ms> ms, <errors> errors"},
        footer = {"", "Examples:",
                "  tools/flotilla bench --ranges 64 --inflight 512 --seconds 20",
                "  tools/flotilla bench --rate 5000 --read-ratio 0.5 --distribution zipfian --plot run.png --hlog run.hlog",
                "  tools/flotilla bench --seeds 10.0.0.1:7112,10.0.0.2:7112,10.0.0.3:7112 --cluster-id 42"})
public final class LoadGenerator implements Callable<Integer> {
    static final int EXIT_FAILED = 1;

    @Option(names = "--seeds", split = ",", paramLabel = "HOST:PORT",
            description = "client addresses of a running cluster's nodes; name every node to see each one's costs"
                    + " (default: start a local cluster)")
    List<String> seeds;

    @Option(names = "--cluster-id", paramLabel = "ID", description = "the running cluster's id (required with --seeds)")
    Long clusterId;

    @Option(names = "--data-dir", paramLabel = "DIR",
            description = "the local cluster's data directory, new or empty, kept afterwards (default: a temporary one, deleted)")
    Path dataDir;

    @Option(names = "--ranges", paramLabel = "N", defaultValue = "64", description = "ranges of the local cluster (default: ${DEFAULT-VALUE})")
    int ranges;

    @Option(names = "--inflight", paramLabel = "N", defaultValue = "128",
            description = "closed loop: operations kept outstanding; open loop: at most this many (default: ${DEFAULT-VALUE})")
    int inflight;

    @Option(names = "--rate", paramLabel = "OPS/S",
            description = "open loop at this many operations per second, latency from each one's due time (default: closed loop)")
    Double rate;

    @Option(names = "--keys", paramLabel = "N", defaultValue = "1000000", description = "distinct keys (default: ${DEFAULT-VALUE})")
    long keys;

    @Option(names = "--key-size", paramLabel = "BYTES", defaultValue = "16", description = "bytes per key (default: ${DEFAULT-VALUE})")
    int keySize;

    @Option(names = "--value-size", paramLabel = "BYTES", defaultValue = "128", description = "bytes per value (default: ${DEFAULT-VALUE})")
    int valueSize;

    @Option(names = "--read-ratio", paramLabel = "SHARE", defaultValue = "0", description = "share of gets, 0 to 1 (default: ${DEFAULT-VALUE})")
    double readRatio;

    @Option(names = "--cas-ratio", paramLabel = "SHARE", defaultValue = "0", description = "share of compare-and-sets (default: ${DEFAULT-VALUE})")
    double casRatio;

    @Option(names = "--scan-ratio", paramLabel = "SHARE", defaultValue = "0",
            description = "share of scans of --scan-limit keys; puts take the rest (default: ${DEFAULT-VALUE})")
    double scanRatio;

    @Option(names = "--scan-limit", paramLabel = "N", defaultValue = "10", description = "keys per scan (default: ${DEFAULT-VALUE})")
    int scanLimit;

    @Option(names = "--distribution", paramLabel = "NAME", defaultValue = "uniform",
            description = "how keys are picked: uniform or zipfian (theta 0.99, hot keys spread over the ranges) (default: ${DEFAULT-VALUE})")
    String distribution;

    @Option(names = "--consistency", paramLabel = "LEVEL", defaultValue = "LINEARIZABLE",
            description = "reads and scans: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    ReadConsistency consistency;

    @Option(names = "--warmup", defaultValue = "60", paramLabel = "SECONDS",
            description = "load before measuring, not measured: three fresh node JVMs on two cores spend a minute or more"
                    + " compiling (the README's figures use 120) (default: ${DEFAULT-VALUE})")
    int warmupSeconds;

    @Option(names = "--seconds", paramLabel = "SECONDS", defaultValue = "10", description = "measured seconds (default: ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--clients", paramLabel = "N", defaultValue = "1",
            description = "client instances, each with its own connections and I/O thread (default: ${DEFAULT-VALUE})")
    int clients;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "10000",
            description = "each operation's deadline, retries included (default: ${DEFAULT-VALUE})")
    long timeoutMs;

    @Option(names = "--hlog", paramLabel = "FILE", description = "write an HdrHistogram log: one interval histogram per second")
    Path hlog;

    @Option(names = "--plot", paramLabel = "FILE",
            description = "draw the latency-percentile curves and ops/s over time: PNG, or SVG if FILE ends in .svg")
    Path plot;

    @Option(names = "--jfr", paramLabel = "DIR",
            description = "local cluster: run each node with a flight recording, dump it to DIR/node-<i>.jfr after the"
                    + " measured seconds, print where each node's time and allocation went per operation, the full"
                    + " report in DIR/profile.txt")
    Path jfr;

    @Option(names = "--split-load-ops", paramLabel = "OPS",
            description = "local cluster: its nodes split a range they lead that serves this many writes (or reads)"
                    + " per second for --split-load-seconds (the nodes' own default unless given)")
    Long splitLoadOps;

    @Option(names = "--split-load-seconds", paramLabel = "S",
            description = "local cluster: how long a range must stay that busy before it splits (the nodes' own default unless given)")
    Integer splitLoadSeconds;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "42", description = "seed of the operation and key choices (default: ${DEFAULT-VALUE})")
    long seed;

    private final PrintStream out;

    public LoadGenerator() {
        this(System.out);
    }

    LoadGenerator(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) {
        System.exit(run(System.out, args));
    }

    /** Runs one command line, printing to {@code out}, and returns its exit code (for tests). */
    static int run(PrintStream out, String... args) {
        CommandLine cli = new CommandLine(new LoadGenerator(out)).setCaseInsensitiveEnumValuesAllowed(true);
        cli.setOut(new PrintWriter(out, true));
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("flotilla bench: " + describe(e));
            return EXIT_FAILED;
        });
        return cli.execute(args);
    }

    private static String describe(Throwable e) {
        while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        return e.getMessage() == null ? e.toString() : e.getMessage();
    }

    @Override
    public Integer call() throws Exception {
        Workload workload = new Workload(new OpMix(readRatio, casRatio, scanRatio), KeyDistribution.of(distribution, keys));
        KeyCodec keyCodec = new KeyCodec(keys, keySize);
        checkOptions();
        String description = describeRun(workload);
        out.println("flotilla bench: " + description);
        out.println("setup: " + BenchEnv.setupLine());

        LocalBenchCluster local = null;
        List<String> addresses;
        long id;
        if (seeds != null && !seeds.isEmpty()) {
            if (clusterId == null) {
                throw new IllegalArgumentException("--seeds needs --cluster-id too (a node refuses clients of another cluster)");
            }
            addresses = seeds;
            id = clusterId;
        } else {
            out.printf("starting a local cluster: %d node processes, %d ranges%n", LocalBenchCluster.NODES, ranges);
            List<String> nodeFlags = new ArrayList<>();
            if (splitLoadOps != null) {
                nodeFlags.addAll(List.of("--split-load-ops", Long.toString(splitLoadOps)));
            }
            if (splitLoadSeconds != null) {
                nodeFlags.addAll(List.of("--split-load-seconds", Integer.toString(splitLoadSeconds)));
            }
            local = LocalBenchCluster.start(dataDir, ranges, jfr == null ? List.of() : FlightRecordingDump.NODE_JVM_OPTIONS,
                    nodeFlags, out);
            addresses = local.clientAddresses();
            id = local.clusterId();
            out.printf("cluster %d is up in %s%n", id, local.dataDir());
        }

        LoadResult result;
        List<Path> recordings = List.of();
        List<FlotillaClient> opened = new ArrayList<>();
        try {
            for (int c = 0; c < clients; c++) {
                opened.add(FlotillaClient.builder().seeds(addresses.toArray(String[]::new)).clusterId(id)
                        .requestTimeout(Duration.ofMillis(timeoutMs)).maxInFlight(Math.max(10_000, 2 * inflight)).build());
            }
            LoadStats stats = new LoadStats();
            LoadTarget target = new ClientTarget(opened, keyCodec, valueSize, consistency, scanLimit);
            LoadDriver driver = rate == null ? new ClosedLoop(target, stats, workload, inflight, seed)
                    : new OpenLoop(OpenLoop.SYSTEM, target, stats, workload, rate, inflight, seed);
            FlotillaClient statusClient = opened.get(0);
            result = new LoadRun(driver, stats, out).run(warmupSeconds, seconds, hlog, description,
                    () -> StatusCommand.collect(statusClient, addresses, timeoutMs));
            if (jfr != null) {
                recordings = dumpRecordings(local);
            }
        } finally {
            for (FlotillaClient c : opened) {
                c.close();
            }
            if (local != null) {
                local.close();
            }
        }

        out.printf("%nmeasured %.1f s (%s):%n", result.seconds(), rate == null ? "closed loop, latency from each send"
                : "open loop, latency from each operation's due time");
        out.print(result.latencyTable());
        out.print(result.errorTable());
        out.println();
        out.println("nodes, from each node's own counters (NodeStatus) over the measured seconds:");
        out.print(NodeCost.table(result.nodes(), result.ops(), result.seconds()));
        out.println("  cpu µs/op: the node's process CPU per operation completed; cores: its CPU seconds per second");
        out.println("  entries/fsync: log entries made durable per fsync of the shared log; msgs/flush: Raft messages"
                + " per flush to a peer");
        if (!recordings.isEmpty()) {
            printProfiles(recordings, result, description);
        }
        if (hlog != null) {
            out.println("HdrHistogram log: " + hlog);
        }
        if (plot != null) {
            LatencyPlot.write(plot, result.curves(), result.opsBySecond(), description);
            out.println("plot: " + plot);
        }
        out.println(result.lastLine());
        return result.ops() > 0 ? 0 : EXIT_FAILED;
    }

    /** Dumps each node's flight recording while the nodes still run; none (and says why) if that fails. */
    private List<Path> dumpRecordings(LocalBenchCluster local) throws InterruptedException {
        try {
            return local.dumpFlightRecordings(jfr);
        } catch (IOException e) {
            out.println("flight recordings: " + e.getMessage() + "; the run's other figures stand");
            return List.of();
        }
    }

    /**
     * Where each node's time and allocation went in the measured seconds, per operation: a short summary
     * here, the full report in {@code DIR/profile.txt}.
     */
    private void printProfiles(List<Path> recordings, LoadResult result, String description) throws IOException {
        JfrProfile.Window window = JfrProfile.Window.between(result.measuredFrom(), result.measuredTo());
        StringBuilder full = new StringBuilder("flotilla bench: " + description + "\n");
        out.println();
        out.printf("where the time goes: the nodes' flight recordings over the measured seconds, per operation"
                + " (full report, all nodes together and each: %s)%n", jfr.resolve("profile.txt"));
        List<JfrProfile> profiles = new ArrayList<>();
        StringBuilder perNode = new StringBuilder();
        for (int i = 0; i < recordings.size(); i++) {
            JfrProfile profile = JfrProfile.read(recordings.get(i), window);
            profiles.add(profile);
            out.printf("%nnode %d: %s", i + 1, profile.report(result.ops(), JfrProfile.Rows.COMPACT));
            perNode.append(String.format("%nnode %d: %s", i + 1, profile.report(result.ops(), JfrProfile.Rows.FULL)));
        }
        // The cluster's cost of an operation first: every node's samples and CPU together.
        full.append('\n').append(JfrProfile.merge("all nodes", profiles).report(result.ops(), JfrProfile.Rows.FULL));
        full.append(perNode);
        Files.writeString(jfr.resolve("profile.txt"), full.toString(), StandardCharsets.UTF_8);
    }

    private void checkOptions() {
        if (jfr != null && seeds != null && !seeds.isEmpty()) {
            throw new IllegalArgumentException("--jfr works with the local cluster only: it starts the nodes' JVMs with a"
                    + " flight recording, and --seeds names JVMs it did not start. Start those nodes with"
                    + " -XX:StartFlightRecording=settings=profile,name=flotilla, dump with jcmd <pid> JFR.dump"
                    + " name=flotilla filename=node.jfr, and summarise with bench/run --main JfrProfile node.jfr --last SECONDS --ops N");
        }
        if (seconds < 1 || warmupSeconds < 0) {
            throw new IllegalArgumentException("--seconds must be at least 1 and --warmup at least 0, not " + seconds
                    + " and " + warmupSeconds);
        }
        if (clients < 1 || clients > inflight) {
            throw new IllegalArgumentException("--clients must lie in 1..--inflight (" + inflight + "), not " + clients);
        }
        if (scanLimit < 1) {
            throw new IllegalArgumentException("--scan-limit must be at least 1, not " + scanLimit);
        }
        if (timeoutMs < 1) {
            throw new IllegalArgumentException("--timeout-ms must be at least 1, not " + timeoutMs);
        }
    }

    private String describeRun(Workload workload) {
        OpMix mix = workload.mix();
        String loop = rate == null ? String.format("closed loop, %d in flight", inflight)
                : String.format("open loop at %,.0f ops/s (at most %d in flight)", rate, inflight);
        String cluster = seeds != null && !seeds.isEmpty() ? "cluster at " + String.join(",", seeds)
                : String.format("local 3-process cluster, %d ranges", ranges);
        return String.format("%s, %s; %,d keys of %d B (%s), values %d B; %s; reads %s; %d s warm-up, %d s measured",
                loop, cluster, keys, keySize, distribution, valueSize, mixText(mix), consistency, warmupSeconds, seconds);
    }

    private static String mixText(OpMix mix) {
        List<String> parts = new ArrayList<>();
        addShare(parts, mix.putRatio(), "puts");
        addShare(parts, mix.readRatio(), "gets");
        addShare(parts, mix.casRatio(), "compare-and-sets");
        addShare(parts, mix.scanRatio(), "scans");
        return String.join(", ", parts);
    }

    private static void addShare(List<String> parts, double share, String what) {
        if (share > 0) {
            parts.add(String.format("%.0f%% %s", 100 * share, what));
        }
    }
}
