package io.flotilla.engine.node;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.MetaRange;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * A small HTML page about one node, served at {@code /} next to {@code /metrics}: the cluster's
 * nodes (up or down as far as this node hears from them), every range it knows (those it hosts,
 * and those the meta range records where it holds a replica of it) with replicas, leader, term,
 * applied index and lag, and the splits and replica changes it can see. The page reloads itself
 * every {@link #REFRESH_SECONDS} seconds. Every text on it is escaped: keys are user data. Built
 * afresh for each request from thread-safe views; runs on the HTTP server's threads.
 */
final class StatusPage implements HttpHandler {
    static final int REFRESH_SECONDS = 2;
    private static final Comparator<RangeDescriptor> NEWER =
            Comparator.comparingLong(RangeDescriptor::getEpoch).thenComparingLong(RangeDescriptor::getConfVersion);

    private final long nodeId;
    private final long clusterId;
    private final ClusterDirectory directory;
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final LongSupplier splitsApplied;
    private final LongSupplier replicasJoined;
    /** The moves this node drives (it leads the meta range), else none. */
    private final Supplier<ListMovesResponse> moves;
    private final long startedAtNs = System.nanoTime();

    StatusPage(long nodeId, long clusterId, ClusterDirectory directory, MultiRaftNode runtime, KvStateMachine stateMachine,
            LongSupplier splitsApplied, LongSupplier replicasJoined, Supplier<ListMovesResponse> moves) {
        this.nodeId = nodeId;
        this.clusterId = clusterId;
        this.directory = directory;
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.splitsApplied = splitsApplied;
        this.replicasJoined = replicasJoined;
        this.moves = moves;
    }

    @Override
    public void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            boolean page = path.equals("/") || path.equals("/status");
            byte[] body = (page ? render() : "Not found: this node serves its status page at / and metrics at /metrics.\n")
                    .getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", page ? "text/html; charset=utf-8" : "text/plain; charset=utf-8");
            exchange.getResponseHeaders().set("Cache-Control", "no-store");
            exchange.sendResponseHeaders(page ? 200 : 404, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }

    /** The page as it stands now. */
    String render() {
        Map<Long, RangeDescriptor> ranges = knownRanges();
        StringBuilder h = new StringBuilder(4_096 + 256 * ranges.size());
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<meta http-equiv=\"refresh\" content=\"").append(REFRESH_SECONDS).append("\">")
                .append("<title>Flotilla node ").append(nodeId).append("</title><style>")
                .append("body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}")
                .append(".up{color:#070}.down{color:#b00;font-weight:bold}.none{color:#b60}")
                .append("</style></head><body>\n");
        h.append("<h1>Flotilla node ").append(nodeId).append("</h1>\n<p id=\"summary\">cluster ").append(clusterId)
                .append(", up ").append(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - startedAtNs)).append(" s, ")
                .append(stateMachine.ranges().size()).append(" ranges here, leads ").append(runtime.leaderGroups())
                .append(stateMachine.descriptor(MetaRange.ID) != null ? ", holds the meta range" : ", no meta range replica")
                .append("; as of <span id=\"generated\">").append(Instant.now().truncatedTo(ChronoUnit.MILLIS))
                .append("</span>, reloads every ").append(REFRESH_SECONDS).append(" s.</p>\n");
        nodes(h);
        rangeTable(h, ranges);
        changes(h, ranges);
        return h.append("</body></html>\n").toString();
    }

    private void nodes(StringBuilder h) {
        h.append("<h2>Nodes</h2>\n<table id=\"nodes\"><tr><th>node</th><th>client address</th><th>state</th></tr>\n");
        for (long id : directory.nodeIds()) {
            NodeAddress a = directory.address(id);
            String state = id == nodeId ? "this node" : runtime.heardFromRecently(id) ? "up" : "down";
            h.append("<tr data-node=\"").append(id).append("\"><td>").append(id).append("</td><td>")
                    .append(escape(a.getHost() + ":" + a.getClientPort())).append("</td><td class=\"")
                    .append(state.equals("down") ? "down" : "up").append("\">").append(state).append("</td></tr>\n");
        }
        h.append("</table>\n");
    }

    private void rangeTable(StringBuilder h, Map<Long, RangeDescriptor> ranges) {
        h.append("<h2>Ranges</h2>\n<table id=\"ranges\"><tr><th>range</th><th>keys</th><th>replicas</th><th>leader</th>")
                .append("<th>term</th><th>applied</th><th>lag</th></tr>\n");
        for (RangeDescriptor range : ranges.values()) {
            long id = range.getRangeId();
            GroupView view = runtime.groupView(id);
            h.append("<tr data-range=\"").append(id).append("\"><td>").append(MetaRange.isMeta(range) ? "meta" : id)
                    .append("</td><td class=\"keys\">")
                    .append(escape(KeyFormat.describeInterval(range.getStartKey(), range.getEndKey())))
                    .append("</td><td class=\"replicas\">").append(escape(replicas(range))).append("</td>");
            if (view == null) {
                h.append("<td class=\"leader\">?</td><td colspan=\"3\">not hosted here (recorded in the meta range)</td>");
            } else {
                long leader = view.leaderNodeId();
                h.append("<td class=\"leader").append(leader == 0 ? " none\">none" : "\">" + leader).append("</td><td>")
                        .append(view.term()).append("</td><td class=\"applied\">").append(view.appliedIndex())
                        .append("</td><td class=\"lag\">").append(Math.max(0, view.commitIndex() - view.appliedIndex()))
                        .append("</td>");
            }
            h.append("</tr>\n");
        }
        h.append("</table>\n");
    }

    /** Splits and replica changes this node can see: counts since it started, ranges still without a leader, learners. */
    private void changes(StringBuilder h, Map<Long, RangeDescriptor> ranges) {
        StringBuilder leaderless = new StringBuilder();
        StringBuilder learners = new StringBuilder();
        for (RangeDescriptor range : ranges.values()) {
            GroupView view = runtime.groupView(range.getRangeId());
            if (view != null && view.leaderNodeId() == 0) {
                leaderless.append(leaderless.isEmpty() ? "" : ", ").append(range.getRangeId());
            }
            if (range.getReplicasList().stream().anyMatch(r -> r.getRole() == ReplicaRole.LEARNER)) {
                learners.append(learners.isEmpty() ? "" : ", ").append(range.getRangeId());
            }
        }
        h.append("<h2>Splits and moves</h2>\n<ul id=\"changes\"><li>splits applied here since the node started: ")
                .append(splitsApplied.getAsLong()).append("; replicas joined after a missed split: ")
                .append(replicasJoined.getAsLong()).append("</li>\n<li>ranges here still electing a leader (a new split")
                .append(" or a lost leader): ").append(leaderless.isEmpty() ? "none" : leaderless)
                .append("</li>\n<li>ranges adding a replica (a learner catching up, as in a move): ")
                .append(learners.isEmpty() ? "none" : learners).append("</li>\n<li>moves in progress: ");
        ListMovesResponse driving = moves.get();
        if (driving.getMovesCount() == 0) {
            h.append(runtime.groupView(MetaRange.ID) != null && runtime.groupView(MetaRange.ID).leading() ? "none"
                    : "listed on the meta range's leader's page");
        }
        for (MoveProgress p : driving.getMovesList()) {
            h.append("<br>range ").append(p.getMove().getRangeId()).append(": node ").append(p.getMove().getFromNodeId())
                    .append(" &rarr; node ").append(p.getMove().getToNodeId()).append(", ")
                    .append(escape(p.getStep().name())).append(", snapshot ").append(p.getSnapshotBytesSent() >> 20)
                    .append(" / ").append(p.getSnapshotBytesTotal() >> 20).append(" MiB (")
                    .append(escape(p.getMove().getReason())).append(")");
        }
        h.append("</li></ul>\n");
    }

    /**
     * Every range this node knows by id: those the meta range records (where it holds a replica of
     * it), overlaid with those it hosts, whose descriptors are as new or newer (a split applied here
     * may not be recorded yet).
     */
    private Map<Long, RangeDescriptor> knownRanges() {
        Map<Long, RangeDescriptor> ranges = new TreeMap<>();
        if (stateMachine.descriptor(MetaRange.ID) != null) {
            for (RangeDescriptor range : stateMachine.recordedRanges()) {
                ranges.put(range.getRangeId(), range);
            }
        }
        for (RangeDescriptor range : stateMachine.allRanges()) {
            ranges.merge(range.getRangeId(), range, (recorded, hosted) -> NEWER.compare(hosted, recorded) >= 0 ? hosted : recorded);
        }
        return ranges;
    }

    private static String replicas(RangeDescriptor range) {
        StringBuilder s = new StringBuilder();
        for (ReplicaDescriptor r : range.getReplicasList()) {
            s.append(s.isEmpty() ? "" : ", ").append(r.getNodeId()).append(r.getRole() == ReplicaRole.LEARNER ? " (learner)" : "");
        }
        return s.toString();
    }

    /** {@code text} safe inside an HTML element or a quoted attribute. */
    static String escape(String text) {
        StringBuilder s = new StringBuilder(text.length() + 16);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '&' -> s.append("&amp;");
                case '<' -> s.append("&lt;");
                case '>' -> s.append("&gt;");
                case '"' -> s.append("&quot;");
                case '\'' -> s.append("&#39;");
                default -> s.append(c);
            }
        }
        return s.toString();
    }
}
