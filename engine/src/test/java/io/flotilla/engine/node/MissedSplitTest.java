package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.multiraft.GroupView;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A replica that misses a split: node 3 is down while its range splits and the range's log is
 * compacted past the split, so on return it installs a snapshot of the narrowed range and never
 * applies the split that would start its replica of the new range. The new range's leader keeps
 * sending it the log; node 3 finds itself listed in the meta range, joins the new range empty and
 * catches up by snapshot, so the new range has all three replicas again.
 */
class MissedSplitTest {
    @TempDir
    Path dir;

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aReplicaThatInstallsASnapshotTakenAfterASplitJoinsTheNewRange() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 1).startAll()) {
            cluster.awaitLeader(1);
            cluster.stop(3);
            long child;
            try (FlotillaClient client = FlotillaClient.builder()
                    .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort(), "127.0.0.1:" + cluster.clientAddress(2).getPort())
                    .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(15)).build()) {
                for (int i = 0; i < 50; i++) {
                    client.put(bytes("z-" + i), bytes("before " + i)).get();
                }
                SplitRangeResponse split = client.splitRange(bytes("m")).get();
                child = split.getRight().getRangeId();
                for (int i = 0; i < 50; i++) {
                    client.put(bytes("z-" + i), bytes("after " + i)).get();
                }
                // Write to the split range until both live replicas have compacted their logs past the split.
                long compactedBefore = cluster.node(1).runtime().compactions() + cluster.node(2).runtime().compactions();
                int written = 0;
                while (cluster.node(1).runtime().compactions() + cluster.node(2).runtime().compactions() < compactedBefore + 2
                        || written < 3_000) {
                    assertThat(written).as("writes before both logs compacted").isLessThan(40_000);
                    List<CompletableFuture<Void>> batch = new ArrayList<>();
                    for (int i = 0; i < 100; i++, written++) {
                        batch.add(client.put(bytes("a-" + (written % 500)), bytes("v" + written)));
                    }
                    CompletableFuture.allOf(batch.toArray(CompletableFuture[]::new)).get();
                }
            }

            FlotillaNode three = cluster.start(3);
            long range = child;
            TestCluster.await(60_000, "node 3's replica of range " + range + " holding its keys", () -> {
                GroupView view = three.runtime().groupView(range);
                var value = three.stateMachine().descriptor(range) == null ? null
                        : three.stateMachine().get(range, ByteString.copyFromUtf8("z-49"));
                return view != null && value != null && value.getFound() && value.getValue().toStringUtf8().equals("after 49");
            });
            assertThat(three.stateMachine().descriptor(1).getEpoch()).as("the split range, narrowed by a snapshot").isEqualTo(2);
            assertThat(three.replicasJoinedAfterMissedSplits()).isEqualTo(1);
        }
    }
}
