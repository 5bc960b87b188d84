package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.router.KeyFormat;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code flotilla split <key>} splits the range holding the key at that key; {@code flotilla split
 * --range <id>} splits range {@code id} at its middle key by stored bytes, which its leader finds.
 * Either goes through the range's leader and prints both ranges as they are afterwards.
 */
@Command(name = "split", mixinStandardHelpOptions = true,
        description = {"Splits the range that holds KEY at that key: the range keeps the keys",
                "below it, and a new range on the same nodes takes the key and those above.",
                "With --range ID instead, splits that range at its middle key by stored bytes.",
                "Clients follow on their own. If a range already starts at KEY, says so and",
                "changes nothing. Fails (exit code 1) if the range holds fewer than two keys."})
final class SplitCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", arity = "0..1", paramLabel = "KEY", description = "the split key (UTF-8 text)")
    String key;

    @Option(names = "--range", paramLabel = "ID", description = "split this range at its middle key instead")
    Long rangeId;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        if ((key == null) == (rangeId == null)) {
            throw new ParameterException(spec.commandLine(), "give either a split KEY or --range ID, not both or neither");
        }
        long startNs = System.nanoTime();
        SplitRangeResponse split;
        try (FlotillaClient client = cluster.connect()) {
            split = key != null ? client.splitRange(key.getBytes(StandardCharsets.UTF_8)).join()
                    : client.splitRangeAtMiddle(cluster.rangeStartKey(client, rangeId).toByteArray()).join();
        }
        long ms = (System.nanoTime() - startNs) / 1_000_000;
        RangeDescriptor left = split.getLeft();
        RangeDescriptor right = split.getRight();
        if (split.getAlreadySplit()) {
            System.out.println("range " + right.getRangeId() + " already starts at " + KeyFormat.describe(right.getStartKey())
                    + ": nothing to split (it holds " + interval(right) + ", epoch " + right.getEpoch() + ")");
            return 0;
        }
        System.out.println("split range " + left.getRangeId() + " at " + KeyFormat.describe(right.getStartKey()) + " in "
                + ms + " ms:");
        System.out.println("  range " + left.getRangeId() + " keeps " + interval(left) + " (epoch " + left.getEpoch() + ")");
        System.out.println("  range " + right.getRangeId() + " takes " + interval(right) + " (epoch " + right.getEpoch()
                + "), on nodes " + right.getReplicasList().stream().map(r -> Long.toString(r.getNodeId()))
                        .reduce((a, b) -> a + ", " + b).orElse("none"));
        return 0;
    }

    private static String interval(RangeDescriptor range) {
        return KeyFormat.describeInterval(range.getStartKey(), range.getEndKey());
    }
}
