package io.flotilla.bench;

import io.flotilla.tools.LocalClusterLayout;
import io.flotilla.tools.LocalClusterProcesses;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * A local cluster of node processes (three unless asked for more) for a benchmark (the load generator, {@code ClientBenchmark}):
 * the same processes as {@code flotilla start} runs, on free ports of 127.0.0.1, with their data in a
 * new temporary directory (deleted by {@link #close}) or in a given one (kept). The nodes are tied to
 * this JVM: they exit when it does, even if it dies without calling {@link #close}. Started and
 * closed by one thread; a shutdown hook stops the nodes if the JVM exits first (Ctrl-C).
 */
public final class LocalBenchCluster implements AutoCloseable {
    public static final int NODES = 3;
    private static final long START_TIMEOUT_MS = 120_000;
    private static final long STOP_GRACE_MS = 20_000;

    private final LocalClusterLayout layout;
    private final LocalClusterProcesses processes;
    private final boolean temporary;
    private final Thread onExit;
    private boolean closed;

    private LocalBenchCluster(LocalClusterLayout layout, LocalClusterProcesses processes, boolean temporary) {
        this.layout = layout;
        this.processes = processes;
        this.temporary = temporary;
        this.onExit = new Thread(this::stopQuietly, "flotilla-bench-cluster-stop");
    }

    /**
     * Starts a new cluster of {@code ranges} ranges and waits until every node accepts clients.
     *
     * @param dataDir where the nodes keep their data (new or empty), or null for a temporary directory
     * @param out     where the nodes' start and stop lines go
     */
    public static LocalBenchCluster start(Path dataDir, int ranges, PrintStream out) throws Exception {
        return start(dataDir, ranges, List.of(), out);
    }

    /**
     * Starts a new cluster as {@link #start(Path, int, PrintStream)} does, each node's JVM with
     * {@code nodeJavaOptions} added (such as {@link FlightRecordingDump#NODE_JVM_OPTIONS}).
     */
    public static LocalBenchCluster start(Path dataDir, int ranges, List<String> nodeJavaOptions, PrintStream out)
            throws Exception {
        return start(dataDir, ranges, nodeJavaOptions, List.of(), out);
    }

    /** As {@link #start(Path, int, List, PrintStream)}, each node started with {@code nodeFlags} too (such as a split policy). */
    public static LocalBenchCluster start(Path dataDir, int ranges, List<String> nodeJavaOptions, List<String> nodeFlags,
            PrintStream out) throws Exception {
        return start(dataDir, NODES, ranges, nodeJavaOptions, nodeFlags, out);
    }

    /** As {@link #start(Path, int, List, List, PrintStream)} with {@code nodes} nodes instead of {@link #NODES}. */
    public static LocalBenchCluster start(Path dataDir, int nodes, int ranges, List<String> nodeJavaOptions,
            List<String> nodeFlags, PrintStream out) throws Exception {
        if (ranges < 1) {
            throw new IllegalArgumentException("--ranges must be at least 1, not " + ranges);
        }
        boolean temporary = dataDir == null;
        Path dir = temporary ? Files.createTempDirectory("flotilla-bench-") : dataDir;
        if (!temporary && Files.isDirectory(dir)) {
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new IllegalArgumentException(dir + " is not empty: give the benchmark a new or empty directory"
                            + " (it bootstraps a new cluster there)");
                }
            }
        }
        long clusterId = new SecureRandom().nextLong() & Long.MAX_VALUE | 1;
        LocalClusterLayout layout = new LocalClusterLayout(dir, nodes, LocalClusterLayout.freeBasePort(nodes), clusterId,
                ranges);
        layout.save();
        LocalBenchCluster cluster = new LocalBenchCluster(layout, new LocalClusterProcesses(layout, out, true, nodeJavaOptions, nodeFlags), temporary);
        Runtime.getRuntime().addShutdownHook(cluster.onExit);
        try {
            cluster.processes.start(START_TIMEOUT_MS);
        } catch (Exception e) {
            cluster.close();
            throw e;
        }
        return cluster;
    }

    public List<String> clientAddresses() {
        return layout.clientAddresses();
    }

    public long clusterId() {
        return layout.clusterId();
    }

    public Path dataDir() {
        return layout.dataDir();
    }

    /** Node {@code node}'s client address ({@code host:port}), 1-based. */
    public String clientAddress(int node) {
        return layout.clientAddress(node);
    }

    /** Node {@code node}'s log file, 1-based. */
    public Path logFile(int node) {
        return layout.logFile(node);
    }

    /**
     * Copies each node's flight recording (its JVM started with {@link FlightRecordingDump#NODE_JVM_OPTIONS})
     * to {@code dir/node-<i>.jfr}, while the nodes run; returns the files, node 1 first.
     */
    public List<Path> dumpFlightRecordings(Path dir) throws IOException, InterruptedException {
        List<Path> files = new ArrayList<>();
        for (int i = 1; i <= layout.nodes(); i++) {
            int node = i;
            ProcessHandle p = processes.running(i)
                    .orElseThrow(() -> new IOException("node " + node + " is not running: no flight recording to dump; see "
                            + layout.logFile(node)));
            Path file = dir.resolve("node-" + i + ".jfr");
            FlightRecordingDump.dump(p.pid(), file);
            files.add(file);
        }
        return files;
    }

    /** Stops the nodes (SIGTERM, SIGKILL after a grace period) and deletes a temporary data directory. */
    @Override
    public void close() throws IOException, InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            Runtime.getRuntime().removeShutdownHook(onExit);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running or about to: it stops the nodes too
        }
        processes.stop(STOP_GRACE_MS);
        if (temporary) {
            BenchEnv.deleteTree(layout.dataDir());
        }
    }

    private void stopQuietly() {
        try {
            processes.stop(5_000);
            if (temporary) {
                BenchEnv.deleteTree(layout.dataDir());
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            System.err.println("flotilla bench: could not stop the local cluster in " + layout.dataDir() + ": " + e);
        }
    }
}
