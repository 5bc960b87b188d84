package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeStatus;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla transfer-leader RANGE NODE}: asks range RANGE's leader to hand its leadership to
 * node NODE, then watches the nodes' status until NODE leads the range (or the timeout passes).
 */
@Command(name = "transfer-leader", mixinStandardHelpOptions = true,
        description = {"Moves the leadership of range RANGE to node NODE, one of its voters, and waits",
                "until NODE leads it. Fails (exit code 1) if NODE is not a voter of the range, or does",
                "not take over within --timeout-ms (it is down, or far behind)."})
final class TransferLeaderCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", paramLabel = "RANGE", description = "the range's id (`flotilla ranges` lists them)")
    long rangeId;

    @Parameters(index = "1", paramLabel = "NODE", description = "the node to lead it")
    long target;

    @Override
    public Integer call() throws Exception {
        long startNs = System.nanoTime();
        try (FlotillaClient client = cluster.connect()) {
            byte[] key = cluster.rangeStartKey(client, rangeId).toByteArray();
            long from = client.transferLeader(key, target).join().getFromNodeId();
            long deadlineNs = startNs + TimeUnit.MILLISECONDS.toNanos(cluster.timeoutMs);
            long leader = 0;
            while (System.nanoTime() < deadlineNs) {
                leader = currentLeader(client);
                if (leader == target) {
                    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
                    System.out.println(from == target ? "node " + target + " already leads range " + rangeId
                            : "range " + rangeId + ": node " + from + " handed its leadership to node " + target + "; node "
                                    + target + " leads it after " + ms + " ms");
                    return 0;
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
            }
            System.err.println("node " + target + " does not lead range " + rangeId + " after " + cluster.timeoutMs + " ms ("
                    + (leader == 0 ? "no leader known" : "node " + leader + " leads it") + "): node " + target
                    + " may be down or far behind; `flotilla ranges` shows each replica's applied index");
            return FlotillaCli.EXIT_FAILED;
        }
    }

    /** The node whose status says it leads the range, or 0. */
    private long currentLeader(FlotillaClient client) throws Exception {
        for (StatusCommand.NodeReport report : StatusCommand.collect(client, cluster.seedAddresses(), 1_000)) {
            if (report.status() != null) {
                for (RangeStatus r : report.status().getRangeStatusList()) {
                    if (r.getRange().getRangeId() == rangeId && r.getLeader()) {
                        return report.status().getNodeId();
                    }
                }
            }
        }
        return 0;
    }
}
