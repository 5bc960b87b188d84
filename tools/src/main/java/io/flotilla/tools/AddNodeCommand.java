package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.NodeAddress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code flotilla add-node}: adds a node to the local cluster: records it in the meta range (every
 * node learns its addresses), starts its process (it joins holding nothing), and follows the
 * balancer moving replicas to it until the nodes hold replicas within 10% of even.
 */
@Command(name = "add-node", mixinStandardHelpOptions = true,
        description = {"Adds a node to the local cluster (the next id, ports after the others'), starts it, and",
                "follows the balancer moving replicas to it until every node holds within 10% of the mean."})
final class AddNodeCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Option(names = "--no-wait", description = "return once the node serves, without following the rebalancing")
    boolean noWait;

    @Option(names = "--wait-ms", defaultValue = "1800000",
            description = "how long to follow the rebalancing (default: ${DEFAULT-VALUE})")
    long waitMs;

    @Override
    public Integer call() throws Exception {
        LocalClusterLayout layout = LocalClusterLayout.load(cluster.dataDir);
        if (layout == null) {
            System.err.println("no local cluster in " + cluster.dataDir + ": start one with `flotilla start`");
            return FlotillaCli.EXIT_NOT_FOUND;
        }
        LocalClusterLayout grown = layout.withNodeAdded();
        int id = grown.nodes();
        if (!grown.portsFree(id)) {
            System.err.println("the ports of node " + id + " (" + grown.peerPort(id) + " to " + grown.metricsPort(id)
                    + ") are taken on " + LocalClusterLayout.HOST + ": free them and try again");
            return FlotillaCli.EXIT_FAILED;
        }
        long startNs = System.nanoTime();
        try (FlotillaClient client = cluster.connect()) {
            NodeAddress node = NodeAddress.newBuilder().setNodeId(id).setHost(LocalClusterLayout.HOST)
                    .setClientPort(grown.clientPort(id)).setPeerPort(grown.peerPort(id))
                    .setSnapshotPort(grown.snapshotPort(id)).build();
            client.addNode(node).join();
            grown.save();
            System.out.println("node " + id + " is recorded in the cluster; starting it");
            new LocalClusterProcesses(grown, System.out).start(cluster.timeoutMs * 6);
            System.out.println("node " + id + " serves at " + grown.clientAddress(id) + "; the balancer moves replicas to it");
            if (noWait) {
                return 0;
            }
            return Rebalancing.follow(client, id, waitMs, startNs) ? 0 : FlotillaCli.EXIT_FAILED;
        }
    }
}
