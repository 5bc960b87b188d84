package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.RouteSource;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/**
 * {@code flotilla ranges}: every range of the cluster as the meta range records it (merged with what
 * each node hosts, newer wins), with each replica's role and applied index as the nodes report them,
 * the leader, and how far the furthest-behind replica trails. Exit code 1 if no node answered.
 */
@Command(name = "ranges", mixinStandardHelpOptions = true,
        description = {"Lists every range: its keys, epoch and conf version, its replicas with their",
                "applied index, its leader, and the lag of its furthest-behind replica. The list comes",
                "from the meta range (which records every range) and from what each node hosts."})
final class RangesCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        List<String> addresses = cluster.seedAddresses();
        try (FlotillaClient client = cluster.connect()) {
            List<StatusCommand.NodeReport> reports = StatusCommand.collect(client, addresses, cluster.timeoutMs);
            List<RouteLookupResponse> lookups = new ArrayList<>();
            for (String address : addresses) {
                try {
                    lookups.add(client.routeLookup(address).get(cluster.timeoutMs, TimeUnit.MILLISECONDS));
                } catch (Exception down) {
                    // its node status says why
                }
            }
            if (lookups.isEmpty()) {
                System.out.print(StatusCommand.render(reports));
                return FlotillaCli.EXIT_FAILED;
            }
            System.out.print(render(lookups, reports));
            return 0;
        }
    }

    /** The ranges table from the nodes' route lookups and statuses. */
    static String render(List<RouteLookupResponse> lookups, List<StatusCommand.NodeReport> reports) {
        RouteTable ranges = new RouteTable();
        String source = "the ranges the nodes host (no replica of the meta range answered)";
        for (RouteLookupResponse lookup : lookups) {
            ranges.updateAll(lookup.getRangesList());
            if (lookup.getSource() == RouteSource.META_LEADER) {
                source = "the meta range's leader";
            } else if (lookup.getSource() == RouteSource.META_FOLLOWER && !source.startsWith("the meta range's leader")) {
                source = "a replica of the meta range";
            }
        }
        // range id -> node id -> its replica's status
        Map<Long, Map<Long, RangeStatus>> replicas = new TreeMap<>();
        for (StatusCommand.NodeReport report : reports) {
            if (report.status() != null) {
                for (RangeStatus rs : report.status().getRangeStatusList()) {
                    replicas.computeIfAbsent(rs.getRange().getRangeId(), id -> new TreeMap<>())
                            .put(report.status().getNodeId(), rs);
                }
            }
        }
        Table t = new Table("range", "keys", "epoch", "conf", "replicas (applied index)", "leader", "max lag");
        for (RangeDescriptor range : ranges.descriptors()) {
            Map<Long, RangeStatus> reported = replicas.getOrDefault(range.getRangeId(), Map.of());
            long best = reported.values().stream().mapToLong(RangeStatus::getAppliedIndex).max().orElse(0);
            long worst = best;
            long leader = 0;
            List<String> cells = new ArrayList<>();
            for (ReplicaDescriptor replica : range.getReplicasList()) {
                RangeStatus rs = reported.get(replica.getNodeId());
                String role = replica.getRole() == ReplicaRole.LEARNER ? " learner" : "";
                cells.add(replica.getNodeId() + role + " (" + (rs == null ? "?" : Long.toString(rs.getAppliedIndex())) + ")");
                if (rs != null) {
                    worst = Math.min(worst, rs.getAppliedIndex());
                    if (rs.getLeader()) {
                        leader = replica.getNodeId();
                    }
                }
            }
            t.row(Long.toString(range.getRangeId()), KeyFormat.describeInterval(range.getStartKey(), range.getEndKey()),
                    Long.toString(range.getEpoch()), Long.toString(range.getConfVersion()), String.join(", ", cells),
                    leader == 0 ? "none known" : Long.toString(leader), (best - worst) + " entries");
        }
        return t.render() + ranges.size() + " ranges, from " + source + ". Replicas whose node did not answer show (?).\n";
    }
}
