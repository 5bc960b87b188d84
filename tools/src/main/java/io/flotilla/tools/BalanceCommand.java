package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code flotilla balance on|off}: switches the balancer, which evens out replicas and leaders and re-replicates down nodes. */
@Command(name = "balance", mixinStandardHelpOptions = true,
        description = {"Switches the balancer on or off, or shows its settings (no argument). On, it re-creates",
                "the replicas of a node down longer than --down-after-ms elsewhere, and, while every node is",
                "up, evens out replicas and leaders per node to within 10% of the mean, two moves per node at",
                "a time. Off, it starts no move of its own; drains (flotilla decommission) go on."})
final class BalanceCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", arity = "0..1", paramLabel = "on|off", description = "switch the balancer on or off")
    String state;

    @Option(names = "--down-after-ms", description = "how long a node may be down before its replicas are made again"
            + " elsewhere (the cluster's default: 300000)")
    long downAfterMs;

    @Option(names = "--snapshot-mib-per-s", description = "the most each node's outgoing snapshots may send together, in MiB"
            + " per second (0: no limit, the default)")
    Long snapshotMibPerSecond;

    @Override
    public Integer call() throws Exception {
        UpdateSettingsRequest.Builder update = UpdateSettingsRequest.newBuilder().setDownAfterMs(Math.max(0, downAfterMs));
        if (snapshotMibPerSecond != null) {
            update.setSnapshotSendBytesPerSecond(Math.max(0, snapshotMibPerSecond) << 20);
        }
        if (state != null) {
            switch (state) {
                case "on" -> update.setBalancer(BalancerSwitch.BALANCER_ON);
                case "off" -> update.setBalancer(BalancerSwitch.BALANCER_OFF);
                default -> {
                    System.err.println("flotilla balance: say on or off, not '" + state + "'");
                    return FlotillaCli.EXIT_USAGE;
                }
            }
        }
        try (FlotillaClient client = cluster.connect()) {
            ClusterSettings settings = client.updateSettings(update.build()).join();
            System.out.println("balancer " + (settings.getBalancerOff() ? "off" : "on") + "; a node down for "
                    + (settings.getDownAfterMs() > 0 ? settings.getDownAfterMs() : 300_000) / 1000
                    + " s has its replicas made again elsewhere; snapshots send at "
                    + (settings.getSnapshotSendBytesPerSecond() == 0 ? "no limit"
                            : (settings.getSnapshotSendBytesPerSecond() >> 20) + " MiB/s at most per node")
                    + "; draining nodes: "
                    + (settings.getDrainingNodeIdsCount() == 0 ? "none" : settings.getDrainingNodeIdsList()));
            return 0;
        }
    }
}
