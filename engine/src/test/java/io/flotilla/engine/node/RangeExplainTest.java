package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ExplainEventKind;
import io.flotilla.kv.proto.ExplainOutcome;
import io.flotilla.kv.proto.ExplainPeer;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.ExplainRole;
import io.flotilla.kv.proto.RangeDescriptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every replica of a range, leader or not, explains its range from its own records
 * ({@code flotilla why}): a stopped node shows as unreachable in the leader's account, and the
 * survivors' records show the election that replaced a stopped leader.
 */
class RangeExplainTest {
    @TempDir
    Path dir;

    @Test
    void theSurvivorsReportAStoppedReplicaAndTheElectionThatFollowed() throws Exception {
        try (TestCluster cluster = new TestCluster(dir, 1).startAll();
                FlotillaClient client = FlotillaClient.builder()
                        .seeds("127.0.0.1:" + cluster.clientAddress(1).getPort())
                        .clusterId(TestCluster.CLUSTER_ID).requestTimeout(Duration.ofSeconds(5)).build()) {
            RangeDescriptor range = cluster.node(1).stateMachine().ranges().get(0);
            long rangeId = range.getRangeId();
            long leader = cluster.awaitLeader(rangeId);
            long follower = leader % 3 + 1;
            long third = 6 - leader - follower;

            // Every replica answers, the followers too, from its own records.
            ExplainRangeResponse atFollower = client.explainRange(address(cluster, follower), rangeId).join();
            assertThat(atFollower.getNodeId()).isEqualTo(follower);
            assertThat(atFollower.getRole()).isEqualTo(ExplainRole.EXPLAIN_FOLLOWER);
            assertThat(atFollower.getLeaderNodeId()).isEqualTo(leader);
            assertThat(atFollower.getRange().getReplicasCount()).isEqualTo(3);
            assertThat(atFollower.getEventsList()).anySatisfy(e -> {
                assertThat(e.getKind()).isEqualTo(ExplainEventKind.EXPLAIN_LEADER_CHANGED);
                assertThat(e.getPeer()).isEqualTo(leader);
            });
            assertThat(client.explainRange(address(cluster, leader), rangeId + 1000).join())
                    .as("a node without a replica of the range").isNull();

            // A stopped follower: the leader could not reach it, and the follower no longer answers.
            String stoppedAddress = address(cluster, follower);
            cluster.stop(follower);
            client.put("k", "v").join(); // the leader sends to the stopped node, and fails
            TestCluster.await(10_000, "the leader reporting node " + follower + " unreachable", () -> {
                ExplainPeer p = peer(client.explainRange(address(cluster, leader), rangeId).join(), follower);
                return p.getReportedUnreachable() && !p.getRecentActive();
            });
            ExplainRangeResponse atLeader = client.explainRange(address(cluster, leader), rangeId).join();
            assertThat(atLeader.getRole()).isEqualTo(ExplainRole.EXPLAIN_LEADER);
            assertThat(peer(atLeader, third).getMatchIndex()).isEqualTo(atLeader.getLastIndex());
            assertThat(peer(atLeader, follower).getMatchIndex()).isLessThan(atLeader.getLastIndex());
            assertThatThrownBy(() -> client.explainRange(stoppedAddress, rangeId).join())
                    .isInstanceOf(CompletionException.class);

            // The leader stops too: the survivor is alone, and says so from its records.
            cluster.start(follower);
            cluster.stop(leader);
            long newLeader = cluster.awaitLeader(rangeId);
            ExplainRangeResponse atNewLeader = client.explainRange(address(cluster, newLeader), rangeId).join();
            assertThat(atNewLeader.getRole()).isEqualTo(ExplainRole.EXPLAIN_LEADER);
            assertThat(atNewLeader.getEventsList()).as("node %d's records", newLeader).anySatisfy(e -> {
                assertThat(e.getKind()).isEqualTo(ExplainEventKind.EXPLAIN_CAMPAIGN);
                assertThat(e.getOutcome()).isEqualTo(ExplainOutcome.EXPLAIN_WON);
                assertThat(e.getTerm()).isEqualTo(atNewLeader.getTerm());
            });
            // The other survivor saw it take over (the stopping leader handed over, or the two elected).
            long survivor = 6 - leader - newLeader;
            ExplainRangeResponse atSurvivor = client.explainRange(address(cluster, survivor), rangeId).join();
            assertThat(atSurvivor.getLeaderNodeId()).isEqualTo(newLeader);
            assertThat(atSurvivor.getEventsList()).as("node %d's records", survivor).anySatisfy(e -> {
                assertThat(e.getKind()).isEqualTo(ExplainEventKind.EXPLAIN_LEADER_CHANGED);
                assertThat(e.getPeer()).isEqualTo(newLeader);
                assertThat(e.getTerm()).isEqualTo(atNewLeader.getTerm());
            });
        }
    }

    private static String address(TestCluster cluster, long id) {
        return "127.0.0.1:" + cluster.clientAddress(id).getPort();
    }

    private static ExplainPeer peer(ExplainRangeResponse r, long node) {
        return r.getPeersList().stream().filter(p -> p.getNodeId() == node).findFirst()
                .orElseThrow(() -> new AssertionError("no progress of node " + node + " in " + r));
    }
}
