package io.flotilla.engine.node;

import java.net.InetSocketAddress;

/**
 * One node of the initial cluster as the operator listed it: where its peers, its snapshot channel
 * and its clients reach it. Immutable and validated; any thread.
 *
 * @param nodeId       the node's id (> 0)
 * @param host         the host name or address every other node and client dials
 * @param peerPort     the Raft peer transport's port
 * @param snapshotPort the snapshot channel's port
 * @param clientPort   the client service's port
 */
public record ClusterMember(long nodeId, String host, int peerPort, int snapshotPort, int clientPort) {
    public ClusterMember {
        if (nodeId <= 0) {
            throw new IllegalArgumentException("node ids are positive, not " + nodeId);
        }
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("node " + nodeId + " has no host");
        }
        checkPort(nodeId, "peer", peerPort);
        checkPort(nodeId, "snapshot", snapshotPort);
        checkPort(nodeId, "client", clientPort);
    }

    private static void checkPort(long nodeId, String what, int port) {
        if (port < 1 || port > 65_535) {
            throw new IllegalArgumentException("node " + nodeId + ": the " + what + " port must be in [1, 65535], not " + port);
        }
    }

    /**
     * Parses {@code id=host:peerPort:snapshotPort:clientPort}. The host is everything before the last
     * three colons, so a bracketed IPv6 literal such as {@code [::1]} works too.
     */
    public static ClusterMember parse(String text) {
        String usage = "expected id=host:peerPort:snapshotPort:clientPort (e.g. 1=127.0.0.1:7001:7002:7101), got '" + text + "'";
        int eq = text.indexOf('=');
        if (eq <= 0) {
            throw new IllegalArgumentException(usage);
        }
        String[] parts = text.substring(eq + 1).trim().split(":");
        if (parts.length < 4) {
            throw new IllegalArgumentException(usage);
        }
        try {
            long id = Long.parseLong(text.substring(0, eq).trim());
            int n = parts.length;
            String host = String.join(":", java.util.Arrays.copyOf(parts, n - 3));
            if (host.startsWith("[") && host.endsWith("]")) {
                host = host.substring(1, host.length() - 1);
            }
            return new ClusterMember(id, host, Integer.parseInt(parts[n - 3]), Integer.parseInt(parts[n - 2]),
                    Integer.parseInt(parts[n - 1]));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(usage, e);
        }
    }

    public InetSocketAddress peerAddress() {
        return new InetSocketAddress(host, peerPort);
    }

    public InetSocketAddress snapshotAddress() {
        return new InetSocketAddress(host, snapshotPort);
    }

    public InetSocketAddress clientAddress() {
        return new InetSocketAddress(host, clientPort);
    }

    /** The client address as a client's seed ({@code host:port}). */
    public String clientSeed() {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + clientPort;
    }

    /** The form {@link #parse} reads. */
    @Override
    public String toString() {
        String h = host.indexOf(':') >= 0 ? "[" + host + "]" : host;
        return nodeId + "=" + h + ":" + peerPort + ":" + snapshotPort + ":" + clientPort;
    }
}
