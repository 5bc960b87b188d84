package io.flotilla.tools;

import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.StringJoiner;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Where the nodes of a local cluster live on this machine: node {@code i} (1-based) keeps its data
 * in {@code <dataDir>/node-<i>} and listens on 127.0.0.1 at {@code basePort + 10 i} (peers),
 * {@code + 1} (snapshots), {@code + 2} (clients) and {@code + 3} (Prometheus metrics at {@code /metrics}, the
 * status page at {@code /}). Saved as {@code <dataDir>/cluster.properties}
 * by {@code flotilla start}, so later commands ({@code stop}, {@code status}, {@code put}, ...) find
 * the cluster from the data directory alone. Public for the bench module's load generator and
 * client benchmark, which start local clusters of their own.
 */
public record LocalClusterLayout(Path dataDir, int nodes, int basePort, long clusterId, int initialRanges) {
    static final String FILE_NAME = "cluster.properties";
    static final String HOST = "127.0.0.1";
    /** The last of a node's ports: {@code peerPort + METRICS_OFFSET} serves its metrics and status page. */
    static final int METRICS_OFFSET = 3;

    public LocalClusterLayout {
        if (nodes < 1 || nodes > 9) {
            throw new IllegalArgumentException("a local cluster has 1 to 9 nodes, not " + nodes);
        }
        if (basePort < 1024 || basePort + 10 * nodes + METRICS_OFFSET > 65_535) {
            throw new IllegalArgumentException("base port " + basePort + " leaves no room for " + nodes + " nodes");
        }
        if (clusterId <= 0) {
            throw new IllegalArgumentException("cluster id must be positive, not " + clusterId);
        }
    }

    public Path nodeDir(int node) {
        return dataDir.resolve("node-" + node);
    }

    /** Whether node {@code node}'s data directory exists: a node created it (its identity file, cluster.properties, is there). */
    boolean hasDataDirectory(int node) {
        return java.nio.file.Files.exists(nodeDir(node).resolve("cluster.properties"));
    }

    public Path logFile(int node) {
        return nodeDir(node).resolve("node.log");
    }

    Path pidFile(int node) {
        return dataDir.resolve("node-" + node + ".pid");
    }

    int peerPort(int node) {
        return basePort + 10 * node;
    }

    int snapshotPort(int node) {
        return peerPort(node) + 1;
    }

    int clientPort(int node) {
        return peerPort(node) + 2;
    }

    int metricsPort(int node) {
        return peerPort(node) + METRICS_OFFSET;
    }

    public String clientAddress(int node) {
        return HOST + ":" + clientPort(node);
    }

    public List<String> clientAddresses() {
        List<String> seeds = new ArrayList<>(nodes);
        for (int i = 1; i <= nodes; i++) {
            seeds.add(clientAddress(i));
        }
        return seeds;
    }

    /** The node main's {@code --initial-cluster} value: {@code 1=host:peer:snapshot:client,2=...}. */
    String initialCluster() {
        StringJoiner members = new StringJoiner(",");
        for (int i = 1; i <= nodes; i++) {
            members.add(i + "=" + HOST + ":" + peerPort(i) + ":" + snapshotPort(i) + ":" + clientPort(i));
        }
        return members.toString();
    }

    public void save() throws IOException {
        Files.createDirectories(dataDir);
        Properties p = new Properties();
        p.setProperty("nodes", Integer.toString(nodes));
        p.setProperty("base-port", Integer.toString(basePort));
        p.setProperty("cluster-id", Long.toString(clusterId));
        p.setProperty("initial-ranges", Integer.toString(initialRanges));
        Path tmp = dataDir.resolve(FILE_NAME + ".tmp");
        try (Writer w = Files.newBufferedWriter(tmp)) {
            p.store(w, "A local Flotilla cluster, written by flotilla start");
        }
        Files.move(tmp, dataDir.resolve(FILE_NAME), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * A base port for a cluster of {@code nodes} nodes whose ports are all free on 127.0.0.1 right
     * now, tried at random between 10000 and 32000 (another program may still take one before the
     * nodes bind it; a node that cannot bind exits and says so in its log). Below 32768, where
     * Linux starts the range it draws outgoing connections' local ports from: a port in that range
     * can be taken by any connection while its node is down, and the node cannot restart on it.
     */
    public static int freeBasePort(int nodes) {
        for (int attempt = 0; attempt < 200; attempt++) {
            int base = 10_000 + 100 * ThreadLocalRandom.current().nextInt(220);
            if (allFree(base, nodes)) {
                return base;
            }
        }
        throw new IllegalStateException("no free block of ports found between 10000 and 32000");
    }

    private static boolean allFree(int base, int nodes) {
        LocalClusterLayout probe = new LocalClusterLayout(Path.of("."), nodes, base, 1, 1);
        for (int i = 1; i <= nodes; i++) {
            if (!probe.portsFree(i)) {
                return false;
            }
        }
        return true;
    }

    /** This cluster with one node more (its ports after the others'), for {@code flotilla add-node}. */
    LocalClusterLayout withNodeAdded() {
        return new LocalClusterLayout(dataDir, nodes + 1, basePort, clusterId, initialRanges);
    }

    /** Whether node {@code node}'s ports are all free on 127.0.0.1 right now. */
    boolean portsFree(int node) {
        for (int offset = 0; offset <= METRICS_OFFSET; offset++) {
            try (ServerSocket s = new ServerSocket(peerPort(node) + offset, 1, InetAddress.getLoopbackAddress())) {
                s.setReuseAddress(true);
            } catch (IOException taken) {
                return false;
            }
        }
        return true;
    }

    /** The cluster saved in {@code dataDir}, or null if none was started there. */
    public static LocalClusterLayout load(Path dataDir) throws IOException {
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dataDir.resolve(FILE_NAME))) {
            p.load(r);
        } catch (NoSuchFileException e) {
            return null;
        }
        return new LocalClusterLayout(dataDir, Integer.parseInt(p.getProperty("nodes")),
                Integer.parseInt(p.getProperty("base-port")), Long.parseLong(p.getProperty("cluster-id")),
                Integer.parseInt(p.getProperty("initial-ranges")));
    }
}
