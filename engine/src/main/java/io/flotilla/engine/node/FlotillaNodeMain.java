package io.flotilla.engine.node;

import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The storage node process: parses flags (and an optional config file), starts a
 * {@link FlotillaNode}, prints one {@code ready} line on stdout once it serves clients, and shuts it
 * down gracefully on SIGTERM or SIGINT (a JVM shutdown hook). Its main thread waits for the node to
 * close, or exits with status 3 if the node stops itself on a failure. Logs go to stderr, one line
 * each.
 */
@Command(name = "flotilla-node", mixinStandardHelpOptions = true, sortOptions = false,
        version = "flotilla-node 0.1.0-SNAPSHOT",
        description = "Runs one Flotilla storage node.",
        footer = {"",
                "SIGTERM or SIGINT shut the node down gracefully (exit status 143 or 130,",
                "as for any JVM). Other exit statuses: 1 the node could not start (data",
                "directory locked or of another node, log corrupt, address in use);",
                "2 invalid flags or config; 3 the node stopped itself on a failure",
                "(restart it: it recovers from its log).",
                "",
                "Example, node 1 of three on one machine:",
                "  flotilla-node --node-id 1 --cluster-id 1 --data-dir data/node1 \\",
                "    --initial-cluster 1=127.0.0.1:7001:7002:7101,\\",
                "2=127.0.0.1:7011:7012:7111,3=127.0.0.1:7021:7022:7121"})
public final class FlotillaNodeMain implements Callable<Integer> {
    private static final Logger LOG = LoggerFactory.getLogger(FlotillaNodeMain.class);

    static final int EXIT_START_FAILED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_NODE_FAILED = 3;

    @Option(names = "--config", paramLabel = "FILE", order = 0,
            description = "Properties file of defaults: keys are the long flag names without dashes (node-id=1).")
    Path configFile;

    @Option(names = "--node-id", paramLabel = "ID", order = 1, description = "This node's id; one of --initial-cluster.")
    long nodeId;

    @Option(names = "--cluster-id", paramLabel = "ID", order = 2, description = "The cluster's id (> 0).")
    long clusterId;

    @Option(names = "--data-dir", paramLabel = "DIR", order = 3,
            description = "This node's data directory (wal/, rocksdb/, snapshots/, node.lock, cluster.properties).")
    Path dataDir;

    @Option(names = "--initial-cluster", paramLabel = "ID=HOST:PEER:SNAP:CLIENT,...", order = 4,
            description = "Every node at bootstrap: id = host:peerPort:snapshotPort:clientPort, comma-separated.")
    String initialCluster;

    @Option(names = "--peer-listen", paramLabel = "[HOST:]PORT", order = 5,
            description = "Where Raft peers connect (default: this node's --initial-cluster entry).")
    String peerListen;

    @Option(names = "--snapshot-listen", paramLabel = "[HOST:]PORT", order = 6,
            description = "Where snapshot streams connect (default: this node's --initial-cluster entry).")
    String snapshotListen;

    @Option(names = "--client-listen", paramLabel = "[HOST:]PORT", order = 7,
            description = "Where clients connect (default: this node's --initial-cluster entry; host 127.0.0.1 if only a port).")
    String clientListen;

    @Option(names = "--initial-ranges", paramLabel = "N", order = 8, defaultValue = "" + NodeConfig.DEFAULT_INITIAL_RANGES,
            description = "Ranges a new cluster's key space is cut into (default: ${DEFAULT-VALUE}).")
    int initialRanges;

    @Option(names = "--workers", paramLabel = "N", order = 9, description = "Raft worker threads (default: one per core).")
    Integer workers;

    @Option(names = "--client-io-threads", paramLabel = "N", order = 10, defaultValue = "1",
            description = "Event-loop threads of the client service (default: ${DEFAULT-VALUE}).")
    int clientIoThreads;

    @Option(names = "--max-client-frame-bytes", paramLabel = "BYTES", order = 11,
            defaultValue = "" + NodeConfig.DEFAULT_MAX_CLIENT_FRAME_BYTES,
            description = "Largest client frame; a larger one closes the connection (default: ${DEFAULT-VALUE}).")
    int maxClientFrameBytes;

    @Option(names = "--default-timeout-ms", paramLabel = "MS", order = 12, defaultValue = "" + NodeConfig.DEFAULT_TIMEOUT_MS,
            description = "Deadline of a request that carries none (default: ${DEFAULT-VALUE}).")
    int defaultTimeoutMs;

    @Option(names = "--shutdown-handoff-ms", paramLabel = "MS", order = 13,
            defaultValue = "" + NodeConfig.DEFAULT_SHUTDOWN_HANDOFF_MS,
            description = "Time a graceful shutdown spends handing leaderships away (default: ${DEFAULT-VALUE}).")
    int shutdownHandoffMs;

    @Option(names = "--tick-interval-ms", paramLabel = "MS", order = 14, defaultValue = "" + NodeConfig.DEFAULT_TICK_INTERVAL_MS,
            description = "One Raft tick (default: ${DEFAULT-VALUE}).")
    int tickIntervalMs;

    @Option(names = "--election-timeout-ticks", paramLabel = "TICKS", order = 15,
            defaultValue = "" + NodeConfig.DEFAULT_ELECTION_TIMEOUT_TICKS,
            description = "Raft election timeout in ticks (default: ${DEFAULT-VALUE}).")
    int electionTimeoutTicks;

    @Option(names = "--join", order = 16,
            description = "This node lost its data directory (or never had one) and the cluster already exists:"
                    + " its replicas are replaced by new ones that catch up by snapshot, instead of bootstrapping"
                    + " a new cluster. Needs a live majority of each range. Ignored once the data directory exists.")
    boolean join;

    @Option(names = "--split-size-mib", paramLabel = "MIB", order = 17,
            defaultValue = "" + (SplitPolicy.DEFAULT_SIZE_BYTES >> 20),
            description = "Split a range this node leads once its data takes about this many MiB (0: never by size;"
                    + " default: ${DEFAULT-VALUE}).")
    long splitSizeMib;

    @Option(names = "--split-load-ops", paramLabel = "OPS", order = 18,
            defaultValue = "" + SplitPolicy.DEFAULT_LOAD_OPS_PER_SECOND,
            description = "Split a range this node leads that serves this many writes per second, or as many reads,"
                    + " for --split-load-seconds in a row, at the median key of its requests (0: never by load;"
                    + " default: ${DEFAULT-VALUE}).")
    long splitLoadOps;

    @Option(names = "--split-load-seconds", paramLabel = "S", order = 19, defaultValue = "" + SplitPolicy.DEFAULT_LOAD_SECONDS,
            description = "How long a range must stay that busy before it splits (default: ${DEFAULT-VALUE}).")
    int splitLoadSeconds;

    @Option(names = "--metrics-listen", paramLabel = "[HOST:]PORT", order = 20,
            description = "Serve Prometheus metrics over HTTP at /metrics on this address (default: not served).")
    String metricsListen;

    @Option(names = "--exit-when-stdin-closes", hidden = true,
            description = "Stop (gracefully) when stdin reaches its end: a parent process that dies takes the node with it.")
    boolean exitWhenStdinCloses;

    /** The node's settings from the parsed flags. */
    NodeConfig toConfig() {
        if (nodeId == 0 || clusterId == 0 || dataDir == null || initialCluster == null) {
            throw new IllegalArgumentException("--node-id, --cluster-id, --data-dir and --initial-cluster are required"
                    + " (as flags or in --config)");
        }
        Map<Long, ClusterMember> members = NodeConfig.parseCluster(initialCluster);
        NodeConfig base = NodeConfig.of(nodeId, clusterId, dataDir, members);
        ClusterMember self = base.self();
        return new NodeConfig(nodeId, clusterId, dataDir,
                address(peerListen, self.peerAddress(), "--peer-listen"),
                address(snapshotListen, self.snapshotAddress(), "--snapshot-listen"),
                address(clientListen, self.clientAddress(), "--client-listen"),
                members, initialRanges, workers == null ? base.workers() : workers, clientIoThreads, maxClientFrameBytes,
                defaultTimeoutMs, shutdownHandoffMs, tickIntervalMs, electionTimeoutTicks, join,
                new SplitPolicy(splitSizeMib << 20, splitLoadOps, splitLoadSeconds),
                metricsListen == null || metricsListen.isBlank() ? null : address(metricsListen, null, "--metrics-listen"));
    }

    /** {@code host:port}, {@code port} (on 127.0.0.1), or the fallback if not given. */
    static InetSocketAddress address(String text, InetSocketAddress fallback, String flag) {
        if (text == null || text.isBlank()) {
            return fallback;
        }
        int colon = text.lastIndexOf(':');
        String host = colon < 0 ? "127.0.0.1" : text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        try {
            int port = Integer.parseInt(text.substring(colon + 1).trim());
            if (port < 0 || port > 65_535) {
                throw new NumberFormatException("out of range");
            }
            return new InetSocketAddress(host.isEmpty() ? "127.0.0.1" : host, port);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be [host:]port, not '" + text + "'");
        }
    }

    @Override
    public Integer call() throws InterruptedException {
        NodeConfig config;
        try {
            config = toConfig();
        } catch (IllegalArgumentException e) {
            System.err.println("flotilla-node: " + e.getMessage());
            return EXIT_USAGE;
        }
        FlotillaNode node;
        try {
            node = FlotillaNode.start(config);
        } catch (Exception e) {
            LOG.error("node {} could not start: {}", config.nodeId(), e.getMessage(), e);
            System.err.println("flotilla-node: node " + config.nodeId() + " could not start: " + e.getMessage());
            return EXIT_START_FAILED;
        }
        Thread hook = new Thread(node::close, "flotilla-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        if (exitWhenStdinCloses) {
            closeWhenStdinCloses(node);
        }
        System.out.println("flotilla node " + config.nodeId() + " ready: clients at " + hostPort(node.clientAddress())
                + " (cluster " + config.clusterId() + ", " + node.stateMachine().ranges().size() + " ranges, started in "
                + node.startupMs() + " ms)");
        System.out.flush();
        while (!node.awaitClosed(1_000)) {
            if (node.failure() != null) {
                LOG.error("node {} stopped itself on a failure; exiting (restart it: it recovers from its log)",
                        config.nodeId(), node.failure());
                node.close();
                return EXIT_NODE_FAILED;
            }
        }
        return 0;
    }

    /** A daemon thread that reads stdin to its end (nothing is ever written), then closes the node. */
    private static void closeWhenStdinCloses(FlotillaNode node) {
        Thread watcher = new Thread(() -> {
            try {
                while (System.in.read() >= 0) {
                    // Any byte is ignored.
                }
            } catch (java.io.IOException e) {
                // A broken pipe means the same as its end.
            }
            LOG.info("node {}: stdin closed (the parent process is gone); shutting down", node.config().nodeId());
            node.close();
        }, "flotilla-stdin-watch");
        watcher.setDaemon(true);
        watcher.start();
    }

    private static String hostPort(InetSocketAddress a) {
        return a.getHostString() + ":" + a.getPort();
    }

    /** Builds the command line, with the defaults of {@code --config} if the arguments name one. */
    static CommandLine commandLine(FlotillaNodeMain main, String[] args) throws java.io.IOException {
        CommandLine cmd = new CommandLine(main);
        Path config = configArgument(args);
        if (config != null) {
            cmd.setDefaultValueProvider(ConfigFileDefaults.load(config, cmd.getCommandSpec()));
        }
        return cmd;
    }

    /** The value of {@code --config FILE} or {@code --config=FILE}, or null. */
    static Path configArgument(String[] args) {
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("--config") && i + 1 < args.length) {
                return Path.of(args[i + 1]);
            }
            if (args[i].startsWith("--config=")) {
                return Path.of(args[i].substring("--config=".length()));
            }
        }
        return null;
    }

    public static void main(String[] args) {
        int status;
        try {
            CommandLine cmd = commandLine(new FlotillaNodeMain(), args);
            status = cmd.execute(args);
        } catch (java.io.IOException | IllegalArgumentException e) {
            System.err.println("flotilla-node: " + e.getMessage());
            status = EXIT_USAGE;
        }
        System.exit(status);
    }
}
