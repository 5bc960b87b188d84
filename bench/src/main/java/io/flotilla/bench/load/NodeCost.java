package io.flotilla.bench.load;

import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.tools.StatusCommand.NodeReport;
import io.flotilla.tools.Table;
import java.util.List;

/**
 * What each node spent during the measured interval, from the counters the node reports about
 * itself (NodeStatus) before and after it: the load generator does not guess any of it. Stateless.
 */
final class NodeCost {
    private NodeCost() {
    }

    /** One node's deltas over the interval, or null counters where the node did not answer both times. */
    record Delta(String node, String address, long cpuNs, long fsyncs, long logEntries, long peerSends,
            long peerMessages, long requests, int threads, int ranges, int leaders) {
    }

    static Delta delta(NodeReport before, NodeReport after) {
        NodeStatusResponse b = before.status();
        NodeStatusResponse a = after.status();
        if (a == null || b == null || a.getNodeId() != b.getNodeId() || a.getUptimeMs() < b.getUptimeMs()) {
            String why = a == null ? after.failure() : b == null ? before.failure() : "restarted during the run";
            return new Delta(a == null ? "?" : Long.toString(a.getNodeId()), after.address() + " (" + why + ")",
                    -1, -1, -1, -1, -1, -1, -1, -1, -1);
        }
        return new Delta(Long.toString(a.getNodeId()), after.address(), a.getProcessCpuNs() - b.getProcessCpuNs(),
                a.getLogBatches() - b.getLogBatches(), a.getLogEntries() - b.getLogEntries(),
                a.getPeerSends() - b.getPeerSends(), a.getPeerMessagesSent() - b.getPeerMessagesSent(),
                a.getRequestsServed() - b.getRequestsServed(), a.getThreads(), a.getRanges(), a.getLeaders());
    }

    /**
     * One row per node and one for all of them: CPU seconds, CPU per operation of the workload
     * ({@code ops}, completed in {@code seconds}), cores busy, log fsyncs and entries per fsync,
     * peer flushes and messages per flush, requests answered, threads.
     */
    static String table(List<Delta> deltas, long ops, double seconds) {
        Table t = new Table("node", "address", "cpu s", "cpu µs/op", "cores", "fsyncs", "entries/fsync", "peer flushes",
                "msgs/flush", "requests", "threads", "replicas", "leaders");
        Delta all = new Delta("all", "", 0, 0, 0, 0, 0, 0, 0, 0, 0);
        for (Delta d : deltas) {
            if (d.cpuNs < 0) {
                t.row(d.node, d.address, "", "", "", "", "", "", "", "", "", "", "");
                continue;
            }
            row(t, d, ops, seconds);
            all = new Delta("all", "", all.cpuNs + d.cpuNs, all.fsyncs + d.fsyncs, all.logEntries + d.logEntries,
                    all.peerSends + d.peerSends, all.peerMessages + d.peerMessages, all.requests + d.requests,
                    all.threads + d.threads, all.ranges + d.ranges, all.leaders + d.leaders);
        }
        if (deltas.size() > 1) {
            row(t, all, ops, seconds);
        }
        return t.render();
    }

    private static void row(Table t, Delta d, long ops, double seconds) {
        t.row(d.node, d.address, String.format("%.2f", d.cpuNs / 1e9),
                ops > 0 ? String.format("%.1f", d.cpuNs / 1e3 / ops) : "-",
                String.format("%.2f", d.cpuNs / 1e9 / Math.max(1e-9, seconds)),
                Long.toString(d.fsyncs), ratio(d.logEntries, d.fsyncs), Long.toString(d.peerSends),
                ratio(d.peerMessages, d.peerSends), Long.toString(d.requests), Integer.toString(d.threads),
                Integer.toString(d.ranges), Integer.toString(d.leaders));
    }

    private static String ratio(long n, long d) {
        return d > 0 ? String.format("%.1f", n / (double) d) : "-";
    }
}
