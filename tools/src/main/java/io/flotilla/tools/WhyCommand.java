package io.flotilla.tools;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla why RANGE|KEY}: asks every node of the cluster, all at once, for its replica's own
 * account of the range (ExplainRange: elections, refused votes and why, lease, progress,
 * snapshots), then says in sentences what is wrong and what to do ({@link RangeDiagnosis}). A node
 * that does not answer is reported unreachable. Exit code 1 if no replica answered.
 */
@Command(name = "why", mixinStandardHelpOptions = true,
        description = {"Explains a range's health from its replicas' own records: who leads and since",
                "when, the last elections and why votes were refused, leases, quiescence, snapshots in",
                "flight, each replica's epoch and applied index, and which nodes do not answer.",
                "TARGET is a range id (`flotilla ranges` lists them) or a key in the range."})
final class WhyCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", paramLabel = "TARGET", description = "a range id, or a key (use --key for a key of digits)")
    String target;

    @Option(names = "--key", description = "TARGET is a key even if it is a number")
    boolean key;

    @Override
    public Integer call() throws Exception {
        List<String> seeds = cluster.seedAddresses();
        try (FlotillaClient client = cluster.connect()) {
            RouteLookupResponse lookup = firstLookup(client, seeds);
            Map<String, Long> nodes = nodesByAddress(seeds, lookup);
            long rangeId = rangeId(lookup);
            List<RangeDiagnosis.NodeAnswer> answers = ask(client, nodes, rangeId, cluster.timeoutMs);
            System.out.print(RangeDiagnosis.explain(rangeId, answers));
            return answers.stream().anyMatch(a -> a.account() != null) ? 0 : FlotillaCli.EXIT_FAILED;
        }
    }

    /** The range TARGET names: a range id as is, a key through the route lookup. */
    private long rangeId(RouteLookupResponse lookup) {
        if (!key && target.matches("[0-9]+")) {
            return Long.parseLong(target);
        }
        ByteString k = ByteString.copyFromUtf8(target);
        if (lookup == null) {
            throw new IllegalArgumentException("no node answered a route lookup, so the range of "
                    + KeyFormat.describe(k) + " is unknown: start the cluster's nodes, or name the range by id");
        }
        RouteTable table = new RouteTable();
        table.updateAll(lookup.getRangesList());
        RangeDescriptor range = table.lookup(k);
        if (range == null) {
            throw new IllegalArgumentException("no range known to the cluster holds " + KeyFormat.describe(k));
        }
        return range.getRangeId();
    }

    private static RouteLookupResponse firstLookup(FlotillaClient client, List<String> seeds) {
        for (String address : seeds) {
            try {
                return client.routeLookup(address).join();
            } catch (RuntimeException down) {
                // ask the next node
            }
        }
        return null;
    }

    /** Every node to ask: the seeds, and every node the route lookup names (with its id). */
    private static Map<String, Long> nodesByAddress(List<String> seeds, RouteLookupResponse lookup) {
        Map<String, Long> nodes = new LinkedHashMap<>();
        if (lookup != null) {
            for (NodeAddress n : lookup.getNodesList()) {
                nodes.put(n.getHost() + ":" + n.getClientPort(), n.getNodeId());
            }
        }
        for (String seed : seeds) {
            nodes.putIfAbsent(seed, 0L);
        }
        return nodes;
    }

    /** Asks every node at once; one that does not answer within {@code timeoutMs} is reported with its failure. */
    static List<RangeDiagnosis.NodeAnswer> ask(FlotillaClient client, Map<String, Long> nodes, long rangeId,
            long timeoutMs) {
        Map<String, CompletableFuture<ExplainRangeResponse>> asked = new LinkedHashMap<>();
        nodes.keySet().forEach(address -> asked.put(address, client.explainRange(address, rangeId)));
        List<RangeDiagnosis.NodeAnswer> answers = new ArrayList<>();
        asked.forEach((address, answer) -> {
            long nodeId = nodes.get(address);
            try {
                ExplainRangeResponse account = answer.get(timeoutMs, TimeUnit.MILLISECONDS);
                answers.add(account == null ? RangeDiagnosis.NodeAnswer.none(nodeId, address)
                        : RangeDiagnosis.NodeAnswer.of(address, account));
            } catch (Exception e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                answers.add(RangeDiagnosis.NodeAnswer.down(nodeId, address, String.valueOf(cause.getMessage())));
            }
        });
        return answers;
    }
}
