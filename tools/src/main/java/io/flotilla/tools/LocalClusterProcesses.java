package io.flotilla.tools;

import java.io.IOException;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Starts and stops the node processes of a {@link LocalClusterLayout}: each node is its own JVM,
 * detached from the command that started it (it keeps running after {@code flotilla start} exits),
 * with its output in {@code node-<i>/node.log} and its process id in {@code node-<i>.pid}. Used
 * on the command's main thread only. Public for the bench module, which starts its own clusters
 * (tied to its JVM, so that a benchmark that dies takes its nodes with it).
 */
public final class LocalClusterProcesses {
    static final String NODE_MAIN = "io.flotilla.engine.node.FlotillaNodeMain";
    /** Lines of a node's log shown when it fails to start (its log may be in a directory that a test deletes). */
    private static final int LOG_TAIL_LINES = 40;

    private final LocalClusterLayout layout;
    private final PrintStream out;
    /** Whether the nodes exit when this JVM does (tests), instead of running on detached (the CLI). */
    private final boolean tiedToThisProcess;
    /** JVM options for every node, after the defaults and FLOTILLA_NODE_JAVA_OPTS (so they win), before the main class. */
    private final List<String> extraJavaOptions;
    private final List<String> extraNodeFlags;

    LocalClusterProcesses(LocalClusterLayout layout, PrintStream out) {
        this(layout, out, false);
    }

    public LocalClusterProcesses(LocalClusterLayout layout, PrintStream out, boolean tiedToThisProcess) {
        this(layout, out, tiedToThisProcess, List.of());
    }

    /**
     * @param extraJavaOptions JVM options added to each node's command line (the load generator's flight
     *                         recording), after the defaults and {@code FLOTILLA_NODE_JAVA_OPTS}
     */
    public LocalClusterProcesses(LocalClusterLayout layout, PrintStream out, boolean tiedToThisProcess,
            List<String> extraJavaOptions) {
        this(layout, out, tiedToThisProcess, extraJavaOptions, List.of());
    }

    /** @param extraNodeFlags flags added to each node's own arguments (a benchmark's split policy, say) */
    public LocalClusterProcesses(LocalClusterLayout layout, PrintStream out, boolean tiedToThisProcess,
            List<String> extraJavaOptions, List<String> extraNodeFlags) {
        this.layout = layout;
        this.out = out;
        this.tiedToThisProcess = tiedToThisProcess;
        this.extraJavaOptions = List.copyOf(extraJavaOptions);
        this.extraNodeFlags = List.copyOf(extraNodeFlags);
    }

    /**
     * Starts every node that is not running yet, then waits until each accepts clients. A node whose
     * data directory is gone while another node's exists rejoins the cluster ({@code --join}) instead
     * of bootstrapping a second one.
     */
    public void start(long timeoutMs) throws IOException, InterruptedException {
        boolean clusterExists = false;
        for (int i = 1; i <= layout.nodes(); i++) {
            clusterExists |= layout.hasDataDirectory(i);
        }
        for (int i = 1; i <= layout.nodes(); i++) {
            if (running(i).isPresent()) {
                out.printf("node %d is already running (pid %d)%n", i, running(i).get().pid());
                continue;
            }
            boolean join = clusterExists && !layout.hasDataDirectory(i);
            if (join) {
                out.printf("node %d has no data directory but the cluster exists: it joins (--join): a node that lost"
                        + " its data has its replicas replaced by new ones that catch up by snapshot; a new node starts"
                        + " with none%n", i);
            }
            Files.createDirectories(layout.nodeDir(i));
            ProcessBuilder pb = nodeProcess(i, join)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(layout.logFile(i).toFile()))
                    // A tied node reads its stdin, a pipe from this JVM, and exits at its end.
                    .redirectInput(tiedToThisProcess ? ProcessBuilder.Redirect.PIPE
                            : ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
            Process p = pb.start();
            Files.writeString(layout.pidFile(i), Long.toString(p.pid()), StandardCharsets.US_ASCII);
            out.printf("node %d started (pid %d), log %s%n", i, p.pid(), layout.logFile(i));
        }
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        for (int i = 1; i <= layout.nodes(); i++) {
            awaitClientPort(i, deadlineNs);
        }
    }

    /**
     * Stops every running node with SIGTERM (a graceful shutdown: leaderships handed over, state
     * flushed), and with SIGKILL any that has not exited after {@code graceMs}. Returns how many it
     * stopped.
     */
    public int stop(long graceMs) throws IOException, InterruptedException {
        List<ProcessHandle> stopping = new ArrayList<>();
        for (int i = 1; i <= layout.nodes(); i++) {
            Optional<ProcessHandle> p = running(i);
            if (p.isPresent()) {
                p.get().destroy();
                stopping.add(p.get());
                out.printf("node %d: stopping (pid %d)%n", i, p.get().pid());
            }
            Files.deleteIfExists(layout.pidFile(i));
        }
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(graceMs);
        for (ProcessHandle p : stopping) {
            long leftNs = deadlineNs - System.nanoTime();
            try {
                p.onExit().get(Math.max(0, leftNs), TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.TimeoutException e) {
                out.printf("pid %d did not stop within %d ms; killing it%n", p.pid(), graceMs);
                p.destroyForcibly();
                p.onExit().join();
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException(e);
            }
        }
        return stopping.size();
    }

    /** The live process of node {@code i}, if its pid file names a running Flotilla node. */
    public Optional<ProcessHandle> running(int i) throws IOException {
        String pid;
        try {
            pid = Files.readString(layout.pidFile(i), StandardCharsets.US_ASCII).trim();
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        // A pid can be reused by an unrelated process after the node died: check what it runs.
        return ProcessHandle.of(Long.parseLong(pid))
                .filter(ProcessHandle::isAlive)
                .filter(p -> p.info().commandLine().map(c -> c.contains(NODE_MAIN)).orElse(false));
    }

    /**
     * The node's process, not started yet. Its classpath goes in the {@code CLASSPATH} environment
     * variable, not {@code -cp}: Linux shows a process's command line ({@code /proc/<pid>/cmdline},
     * which {@link #running} reads through {@link ProcessHandle.Info#commandLine}) cut at one page,
     * 4,096 bytes, and a test JVM's classpath alone can be longer. With it on the command line the
     * main class fell past the cut, so a node that was starting well looked like one that had exited.
     */
    ProcessBuilder nodeProcess(int i, boolean join) {
        String classpath = System.getenv("FLOTILLA_CLASSPATH");
        if (classpath == null) {
            classpath = System.getProperty("java.class.path");
        }
        ProcessBuilder pb = new ProcessBuilder(nodeCommand(i, join));
        pb.environment().put("CLASSPATH", classpath);
        return pb;
    }

    private List<String> nodeCommand(int i, boolean join) {
        String java = System.getenv().getOrDefault("FLOTILLA_JAVA", "java");
        List<String> cmd = new ArrayList<>(List.of(java,
                "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED", "--enable-native-access=ALL-UNNAMED",
                "-Xms256m", "-Xmx1g", "-XX:+UseG1GC"));
        String extra = System.getenv("FLOTILLA_NODE_JAVA_OPTS");
        if (extra != null && !extra.isBlank()) {
            cmd.addAll(List.of(extra.trim().split("\\s+")));
        }
        cmd.addAll(extraJavaOptions);
        cmd.addAll(List.of(NODE_MAIN,
                "--node-id", Integer.toString(i),
                "--cluster-id", Long.toString(layout.clusterId()),
                "--data-dir", layout.nodeDir(i).toAbsolutePath().toString(),
                "--peer-listen", LocalClusterLayout.HOST + ":" + layout.peerPort(i),
                "--snapshot-listen", LocalClusterLayout.HOST + ":" + layout.snapshotPort(i),
                "--client-listen", layout.clientAddress(i),
                "--metrics-listen", LocalClusterLayout.HOST + ":" + layout.metricsPort(i),
                "--initial-cluster", layout.initialCluster(),
                "--initial-ranges", Integer.toString(layout.initialRanges()),
                // Every node of a local cluster shares this machine's cores: a node's default (a
                // worker per core) would put nodes x cores workers on them, splitting each node's
                // rounds into smaller batches that contend for the same cores.
                "--workers", Integer.toString(workersPerNode(layout.nodes()))));
        cmd.addAll(extraNodeFlags);
        if (join) {
            cmd.add("--join");
        }
        if (tiedToThisProcess) {
            cmd.add("--exit-when-stdin-closes");
        }
        return cmd;
    }

    /** Raft workers per node when {@code nodes} nodes share this machine: its cores split among them, at least one. */
    static int workersPerNode(int nodes) {
        return Math.max(1, Runtime.getRuntime().availableProcessors() / nodes);
    }

    private void awaitClientPort(int i, long deadlineNs) throws IOException, InterruptedException {
        while (true) {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(LocalClusterLayout.HOST, layout.clientPort(i)), 200);
                return;
            } catch (IOException notYet) {
                if (running(i).isEmpty()) {
                    throw new IOException("node " + i + " exited during startup; the end of " + layout.logFile(i)
                            + ":\n" + logTail(i, LOG_TAIL_LINES));
                }
                if (System.nanoTime() > deadlineNs) {
                    throw new IOException("node " + i + " did not accept clients on " + layout.clientAddress(i)
                            + " in time; the end of " + layout.logFile(i) + ":\n" + logTail(i, LOG_TAIL_LINES));
                }
                Thread.sleep(100);
            }
        }
    }

    /** The last {@code lines} lines of node {@code i}'s log, or why there are none. */
    String logTail(int i, int lines) {
        try {
            List<String> all = new String(Files.readAllBytes(layout.logFile(i)), StandardCharsets.UTF_8).lines().toList();
            return all.isEmpty() ? "(the log is empty)" : String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(the log cannot be read: " + e + ")";
        }
    }
}
