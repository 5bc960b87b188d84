package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeStatus;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code flotilla status}: each node's state as reported by the node itself (NodeStatus), as a
 * table: up or down, ranges, leaders, how far its replicas' applied indexes trail the leaders', and the
 * node's counters since it started (process CPU, requests answered, log batches and entries per batch).
 * Exit code 1 if any node does not answer.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Shows each node: up or down, ranges hosted, leaders held, applied-index lag behind the leaders.")
public final class StatusCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        List<String> addresses = cluster.seedAddresses();
        try (FlotillaClient client = cluster.connect()) {
            List<NodeReport> reports = collect(client, addresses, cluster.timeoutMs);
            System.out.print(render(reports));
            System.out.print(renderPlacement(reports, client));
            return reports.stream().allMatch(r -> r.status != null) ? 0 : FlotillaCli.EXIT_FAILED;
        }
    }

    /** One node's answer, or why there is none. */
    public record NodeReport(String address, NodeStatusResponse status, String failure) {
    }

    /** Asks every node at once; a node that does not answer within {@code timeoutMs} gets a report with its failure. */
    public static List<NodeReport> collect(FlotillaClient client, List<String> addresses, long timeoutMs) {
        List<CompletableFuture<NodeStatusResponse>> asked = new ArrayList<>();
        for (String address : addresses) {
            asked.add(client.nodeStatus(address));
        }
        List<NodeReport> reports = new ArrayList<>();
        for (int i = 0; i < addresses.size(); i++) {
            try {
                reports.add(new NodeReport(addresses.get(i), asked.get(i).get(timeoutMs, TimeUnit.MILLISECONDS), null));
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                reports.add(new NodeReport(addresses.get(i), null, String.valueOf(cause.getMessage())));
            }
        }
        return reports;
    }

    /** Per range, the highest applied index any replica reports: the reference for lag. */
    private static Map<Long, Long> bestApplied(List<NodeReport> reports) {
        Map<Long, Long> best = new HashMap<>();
        for (NodeReport r : reports) {
            if (r.status != null) {
                for (RangeStatus rs : r.status.getRangeStatusList()) {
                    best.merge(rs.getRange().getRangeId(), rs.getAppliedIndex(), Math::max);
                }
            }
        }
        return best;
    }

    /** How many entries the replicas of the node at {@code index} in {@code reports} trail the best, at most. */
    static long maxLag(List<NodeReport> reports, int index) {
        return maxLag(reports.get(index), bestApplied(reports));
    }

    private static long maxLag(NodeReport r, Map<Long, Long> bestApplied) {
        long maxLag = 0;
        for (RangeStatus rs : r.status.getRangeStatusList()) {
            maxLag = Math.max(maxLag, bestApplied.get(rs.getRange().getRangeId()) - rs.getAppliedIndex());
        }
        return maxLag;
    }

    static String render(List<NodeReport> reports) {
        Map<Long, Long> bestApplied = bestApplied(reports);
        Table t = new Table("node", "address", "state", "ranges", "leaders", "bytes", "max lag", "uptime", "cpu s",
                "requests", "log batches", "entries/batch");
        StringBuilder down = new StringBuilder();
        for (NodeReport r : reports) {
            if (r.status == null) {
                // The reason goes under the table: an exception's text in a cell made every row as wide.
                t.row("?", r.address, "DOWN", "", "", "", "", "", "", "", "", "");
                down.append(r.address).append(" is down: ").append(downReason(r.failure)).append('\n');
                continue;
            }
            long maxLag = maxLag(r, bestApplied);
            // A rejoining node replaces the replicas it lost with its data directory; the balancer waits for it.
            t.row(Long.toString(r.status.getNodeId()), r.address, r.status.getRejoining() ? "up, rejoining" : "up",
                    r.status.getRanges() + (r.status.getMetaReplica() ? " + meta" : ""),
                    Integer.toString(r.status.getLeaders()), RangeDiagnosis.bytes(bytes(r.status)), maxLag + " entries",
                    Duration.format(r.status.getUptimeMs()),
                    String.format("%.1f", r.status.getProcessCpuNs() / 1e9), Long.toString(r.status.getRequestsServed()),
                    Long.toString(r.status.getLogBatches()),
                    String.format("%.1f", r.status.getLogEntries() / (double) Math.max(1, r.status.getLogBatches())));
        }
        String table = t.render();
        return table + down;
    }

    /** About how many bytes of keys and values the node's replicas hold. */
    private static long bytes(NodeStatusResponse status) {
        long bytes = 0;
        for (RangeStatus rs : status.getRangeStatusList()) {
            bytes += rs.getApproximateBytes();
        }
        return bytes;
    }

    /** Why a node did not answer, in a sentence: a refused connection means nothing listens there. */
    static String downReason(String failure) {
        if (failure != null && failure.contains("Connection refused")) {
            return "nothing listens there (connection refused): the node is not running";
        }
        return failure;
    }

    /**
     * The ranges that run short of replicas (a replica on a node that did not answer, or fewer than
     * three), the moves in progress and the balancer's settings, as the meta range's leader has them.
     */
    static String renderPlacement(List<NodeReport> reports, FlotillaClient client) {
        StringBuilder out = new StringBuilder();
        java.util.Set<Long> up = new java.util.HashSet<>();
        Map<Long, io.flotilla.kv.proto.RangeDescriptor> ranges = new java.util.TreeMap<>();
        for (NodeReport r : reports) {
            if (r.status != null) {
                up.add(r.status.getNodeId());
                for (RangeStatus rs : r.status.getRangeStatusList()) {
                    ranges.merge(rs.getRange().getRangeId(), rs.getRange(),
                            (a, b) -> io.flotilla.router.RouteTable.compareVersions(a, b) >= 0 ? a : b);
                }
            }
        }
        for (io.flotilla.kv.proto.RangeDescriptor range : ranges.values()) {
            List<Long> missing = new ArrayList<>();
            for (io.flotilla.kv.proto.ReplicaDescriptor replica : range.getReplicasList()) {
                if (!up.contains(replica.getNodeId())) {
                    missing.add(replica.getNodeId());
                }
            }
            int have = range.getReplicasCount() - missing.size();
            if (have < io.flotilla.router.Placement.REPLICAS && !io.flotilla.router.MetaRange.isMeta(range)) {
                out.append(String.format("UNDER-REPLICATED: range %d has %d of %d replicas up%s%n", range.getRangeId(),
                        have, io.flotilla.router.Placement.REPLICAS, missing.isEmpty() ? "" : " (down: nodes " + missing + ")"));
            }
        }
        try {
            io.flotilla.kv.proto.ListMovesResponse moves = client.listMoves().get(5, TimeUnit.SECONDS);
            if (moves.getMovesCount() > 0) {
                out.append("moves in progress:\n").append(MovesCommand.table(moves.getMovesList(), false));
            }
            out.append(balancerView(moves.getNodesList()));
            io.flotilla.kv.proto.ClusterSettings settings = moves.getSettings();
            out.append("balancer ").append(settings.getBalancerOff() ? "off" : "on");
            if (settings.getDrainingNodeIdsCount() > 0) {
                out.append("; draining nodes ").append(settings.getDrainingNodeIdsList());
            }
            out.append('\n');
        } catch (Exception e) {
            out.append("moves: the meta range's leader did not answer (").append(e.getCause() != null ? e.getCause() : e)
                    .append(")\n");
        }
        return out.toString();
    }

    /**
     * The nodes as the balancer weighs them (the meta range's leader, once a second): replicas,
     * leaderships, and the bytes and writes per second their replicas hold by the ranges' leaders.
     */
    static String balancerView(List<io.flotilla.kv.proto.NodePlacement> nodes) {
        if (nodes.isEmpty()) {
            return "";
        }
        Table t = new Table("node", "replicas", "leaders", "bytes", "writes/s");
        for (io.flotilla.kv.proto.NodePlacement p : nodes) {
            t.row(p.getNodeId() + (p.getUp() ? "" : " (down)") + (p.getDraining() ? " (draining)" : ""),
                    Integer.toString(p.getReplicas()), Integer.toString(p.getLeaders()), RangeDiagnosis.bytes(p.getBytes()),
                    String.format(java.util.Locale.ROOT, "%,.0f", p.getWritesPerSecond()));
        }
        return "as the balancer weighs the nodes (each replica counts its range's bytes and writes):\n" + t.render();
    }

    /**
     * What each node spent between two reports for {@code ops} operations of a workload: CPU in all,
     * CPU per operation, requests answered, log batches (fsyncs) and entries per batch.
     */
    static String renderCost(List<NodeReport> before, List<NodeReport> after, long ops) {
        Table t = new Table("node", "cpu s", "cpu µs/op", "requests", "log batches", "entries/batch");
        for (int i = 0; i < after.size(); i++) {
            NodeStatusResponse b = i < before.size() ? before.get(i).status : null;
            NodeStatusResponse a = after.get(i).status;
            if (a == null || b == null || a.getNodeId() != b.getNodeId()) {
                t.row(a == null ? "?" : Long.toString(a.getNodeId()), "", "", "", "", "");
                continue;
            }
            long cpuNs = a.getProcessCpuNs() - b.getProcessCpuNs();
            long batches = a.getLogBatches() - b.getLogBatches();
            long entries = a.getLogEntries() - b.getLogEntries();
            t.row(Long.toString(a.getNodeId()), String.format("%.2f", cpuNs / 1e9),
                    String.format("%.1f", cpuNs / 1e3 / Math.max(1, ops)),
                    Long.toString(a.getRequestsServed() - b.getRequestsServed()), Long.toString(batches),
                    String.format("%.1f", entries / (double) Math.max(1, batches)));
        }
        return t.render();
    }

    /** Short human durations for tables. */
    static final class Duration {
        static String format(long ms) {
            long s = ms / 1000;
            if (s < 120) {
                return s + " s";
            }
            if (s < 7200) {
                return s / 60 + " min";
            }
            return s / 3600 + " h";
        }
    }
}
