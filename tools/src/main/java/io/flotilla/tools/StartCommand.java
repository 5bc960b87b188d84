package io.flotilla.tools;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flotilla start}: starts (or restarts) a local cluster of node processes on this machine. */
@Command(name = "start", mixinStandardHelpOptions = true,
        description = {"Starts a local cluster: one process per node, listening on 127.0.0.1.",
                "A new data directory bootstraps a new cluster; an existing one restarts the nodes that are down."})
final class StartCommand implements Callable<Integer> {
    @Option(names = "--data-dir", defaultValue = "flotilla-data", description = "where the nodes keep their data (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--nodes", defaultValue = "3", description = "number of nodes of a new cluster (default: ${DEFAULT-VALUE})")
    int nodes;

    @Option(names = "--ranges", defaultValue = "64", description = "ranges a new cluster starts with (default: ${DEFAULT-VALUE})")
    int ranges;

    @Option(names = "--base-port", defaultValue = "7100",
            description = "node i listens on base+10i (peers), +1 (snapshots), +2 (clients) (default: ${DEFAULT-VALUE})")
    int basePort;

    @Option(names = "--timeout-ms", defaultValue = "60000", description = "how long to wait for the nodes to serve (default: ${DEFAULT-VALUE})")
    long timeoutMs;

    @Override
    public Integer call() throws Exception {
        LocalClusterLayout layout = startCluster(dataDir, nodes, ranges, basePort, timeoutMs);
        System.out.printf("cluster %d is up: %d nodes, clients connect to %s%n", layout.clusterId(), layout.nodes(),
                String.join(",", layout.clientAddresses()));
        System.out.printf("status pages at http://%s:%d/ (node 1; node i at base port + 10i + 3), metrics at /metrics%n",
                LocalClusterLayout.HOST, layout.metricsPort(1));
        return 0;
    }

    /** Starts the cluster saved in {@code dataDir}, or a new one with these settings if there is none. */
    static LocalClusterLayout startCluster(Path dataDir, int nodes, int ranges, int basePort, long timeoutMs)
            throws Exception {
        LocalClusterLayout layout = LocalClusterLayout.load(dataDir);
        if (layout == null) {
            long clusterId = new SecureRandom().nextLong() & Long.MAX_VALUE | 1;
            layout = new LocalClusterLayout(dataDir, nodes, basePort, clusterId, ranges);
            layout.save();
            System.out.printf("bootstrapping a new cluster in %s: %d nodes, %d ranges%n", dataDir, nodes, ranges);
        } else {
            System.out.printf("restarting the cluster in %s%n", dataDir);
        }
        new LocalClusterProcesses(layout, System.out).start(timeoutMs);
        return layout;
    }
}
