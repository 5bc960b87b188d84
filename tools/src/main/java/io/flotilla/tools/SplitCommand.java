package io.flotilla.tools;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.router.KeyFormat;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code flotilla split <key>}: splits the range holding the key at that key, through the range's
 * leader, and prints both ranges as they are afterwards.
 */
@Command(name = "split", mixinStandardHelpOptions = true,
        description = {"Splits the range that holds a key at that key: the range keeps the keys below it,",
                "and a new range on the same nodes takes the key and those above it. Clients follow",
                "on their own. Fails (exit code 1) if a range already starts at the key."})
final class SplitCommand implements Callable<Integer> {
    @Mixin
    ClusterOptions cluster;

    @Parameters(index = "0", paramLabel = "KEY", description = "the split key (UTF-8 text)")
    String key;

    @Override
    public Integer call() throws Exception {
        long startNs = System.nanoTime();
        SplitRangeResponse split;
        try (FlotillaClient client = cluster.connect()) {
            split = client.splitRange(key.getBytes(StandardCharsets.UTF_8)).join();
        }
        long ms = (System.nanoTime() - startNs) / 1_000_000;
        RangeDescriptor left = split.getLeft();
        RangeDescriptor right = split.getRight();
        System.out.println("split range " + left.getRangeId() + " at "
                + KeyFormat.describe(ByteString.copyFromUtf8(key)) + " in " + ms + " ms:");
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
