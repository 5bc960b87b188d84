package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code flotilla demo}: starts a local 3-node cluster (or reuses the one in the data directory),
 * runs a short mixed workload through the Java client with a progress line, prints what happened
 * as a table, and leaves the cluster running with instructions for using and stopping it.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"Starts a local 3-node cluster, runs a short workload and prints what it measured.",
                "The cluster (64 ranges, data under ./flotilla-data) keeps running afterwards; the workload is",
                "10 seconds of mixed reads and writes through the Java client, after a 5-second warm-up."})
final class DemoCommand implements Callable<Integer> {
    @Option(names = "--data-dir", defaultValue = "flotilla-data", description = "where the nodes keep their data (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--ranges", defaultValue = "64", description = "ranges of a new cluster (default: ${DEFAULT-VALUE})")
    int ranges;

    @Option(names = "--base-port", defaultValue = "7100", description = "ports of a new cluster start here (default: ${DEFAULT-VALUE})")
    int basePort;

    @Option(names = "--seconds", defaultValue = "10", description = "how long the workload runs (default: ${DEFAULT-VALUE})")
    int seconds;

    @Option(names = "--inflight", defaultValue = "128", description = "requests kept in flight (default: ${DEFAULT-VALUE})")
    int inflight;

    @Option(names = "--read-percent", defaultValue = "20", description = "share of reads in the workload (default: ${DEFAULT-VALUE})")
    int readPercent;

    @Option(names = "--warmup-seconds", defaultValue = "5",
            description = "unmeasured load first: fresh JVMs spend seconds of CPU compiling (default: ${DEFAULT-VALUE})")
    int warmupSeconds;

    @Option(names = "--one-range", description = "all keys in one range (a hot range) instead of spread over every range")
    boolean oneRange;

    @Override
    public Integer call() throws Exception {
        LocalClusterLayout layout = StartCommand.startCluster(dataDir, 3, ranges, basePort, 90_000);
        List<String> seeds = layout.clientAddresses();
        System.out.printf("%ncluster %d is up; running a %d-second workload after a %d-second warm-up (%d%% reads, %d in"
                + " flight, 128-byte values, keys %s)%n", layout.clusterId(), seconds, warmupSeconds, readPercent, inflight,
                oneRange ? "in one range" : "spread over every range");
        DemoWorkload.Result result;
        String cost;
        try (FlotillaClient client = FlotillaClient.builder().seeds(seeds.toArray(String[]::new))
                .clusterId(layout.clusterId()).build()) {
            DemoWorkload workload = new DemoWorkload(client, inflight, readPercent, 10_000, 128, oneRange);
            workload.start();
            workload.warmUp(warmupSeconds, System.out);
            List<StatusCommand.NodeReport> before = StatusCommand.collect(client, seeds, 5_000);
            result = workload.measure(seconds, System.out);
            List<StatusCommand.NodeReport> after = StatusCommand.collect(client, seeds, 5_000);
            workload.stop();
            System.out.println();
            System.out.print(StatusCommand.render(after));
            System.out.println();
            cost = StatusCommand.renderCost(before, after, result.ops());
        }
        System.out.print(result.table());
        System.out.println();
        System.out.print(cost);
        System.out.printf("%nThe cluster keeps running (data in %s). Try:%n", dataDir);
        System.out.println("  tools/flotilla put greeting hello");
        System.out.println("  tools/flotilla get greeting");
        System.out.println("  tools/flotilla scan --limit 10");
        System.out.println("  tools/flotilla status");
        System.out.println("Stop it with:  tools/flotilla stop      (restart: tools/flotilla start; start over: also rm -r "
                + dataDir + ")");
        return result.errors() == 0 ? 0 : FlotillaCli.EXIT_FAILED;
    }
}
