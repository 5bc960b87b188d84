package io.flotilla.tools;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.RangeStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * How a command finds a cluster: {@code --seeds} (client addresses of any of its nodes) and
 * {@code --cluster-id}, or else the local cluster saved in {@code --data-dir}.
 */
final class ClusterOptions {
    @Option(names = "--seeds", split = ",", paramLabel = "HOST:PORT",
            description = "client addresses of one or more nodes (default: the local cluster in --data-dir)")
    List<String> seeds;

    @Option(names = "--cluster-id", description = "the cluster's id (required with --seeds)")
    Long clusterId;

    @Option(names = "--data-dir", defaultValue = "flotilla-data",
            description = "the local cluster's data directory, used when --seeds is not given (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--timeout-ms", defaultValue = "10000", description = "deadline of each request, retries included (default: ${DEFAULT-VALUE})")
    long timeoutMs;

    /** The client addresses of the cluster's nodes. */
    List<String> seedAddresses() throws Exception {
        if (seeds != null && !seeds.isEmpty()) {
            return seeds;
        }
        return local().clientAddresses();
    }

    long clusterIdValue() throws Exception {
        if (seeds != null && !seeds.isEmpty()) {
            if (clusterId == null) {
                throw new IllegalArgumentException("--seeds needs --cluster-id too (a node refuses clients of another cluster)");
            }
            return clusterId;
        }
        return local().clusterId();
    }

    FlotillaClient connect() throws Exception {
        return FlotillaClient.builder()
                .seeds(seedAddresses().toArray(String[]::new))
                .clusterId(clusterIdValue())
                .requestTimeout(Duration.ofMillis(timeoutMs))
                .build();
    }

    /** The start key of range {@code id}, from the first node that reports holding it. */
    ByteString rangeStartKey(FlotillaClient client, long id) throws Exception {
        for (String address : seedAddresses()) {
            try {
                for (RangeStatus r : client.nodeStatus(address).join().getRangeStatusList()) {
                    if (r.getRange().getRangeId() == id) {
                        return r.getRange().getStartKey();
                    }
                }
            } catch (RuntimeException unreachable) {
                // ask the next node
            }
        }
        throw new IllegalArgumentException("no node of " + seedAddresses() + " holds range " + id
                + "; `flotilla ranges` lists the ranges");
    }

    private LocalClusterLayout local() throws Exception {
        LocalClusterLayout layout = LocalClusterLayout.load(dataDir);
        if (layout == null) {
            throw new IllegalArgumentException("no local cluster in " + dataDir.toAbsolutePath()
                    + ": start one with `flotilla start` (or `flotilla demo`), or name a cluster with --seeds and --cluster-id");
        }
        return layout;
    }
}
