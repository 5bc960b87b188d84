package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.client.InvalidArgumentException;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.TransferLeaderResponse;
import io.flotilla.multiraft.GroupView;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An operator moves a range's leadership to another voter, and only to a voter. */
class LeaderTransferTest {
    @TempDir
    Path dir;

    @Test
    void theLeadershipMovesToTheVoterAskedForAndNowhereElse() throws Exception {
        try (TestCluster cluster = new TestCluster(dir).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(15)).build()) {
            RangeDescriptor range = cluster.node(1).stateMachine().ranges().get(0);
            long leader = cluster.awaitLeader(range.getRangeId());
            long target = leader % 3 + 1;
            byte[] key = range.getStartKey().toByteArray();

            TransferLeaderResponse started = client.transferLeader(key, target).join();
            assertThat(started.getFromNodeId()).isEqualTo(leader);
            TestCluster.await(10_000, "node " + target + " leading range " + range.getRangeId(), () -> {
                GroupView view = cluster.node(target).runtime().groupView(range.getRangeId());
                return view != null && view.leading();
            });

            // Asking the leader to hand over to itself changes nothing.
            assertThat(client.transferLeader(key, target).join().getFromNodeId()).isEqualTo(target);
            assertThatThrownBy(() -> client.transferLeader(key, 9).join()).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(InvalidArgumentException.class).hasMessageContaining("not a voter");
            assertThat(cluster.node(target).runtime().groupView(range.getRangeId()).leading()).isTrue();
        }
    }
}
