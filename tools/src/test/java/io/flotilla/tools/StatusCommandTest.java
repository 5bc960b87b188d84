package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.NodePlacement;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeStatus;
import java.util.List;
import org.junit.jupiter.api.Test;

class StatusCommandTest {
    @Test
    void theBalancersViewShowsEachNodesReplicasLeadersBytesAndWrites() {
        String view = StatusCommand.balancerView(List.of(
                NodePlacement.newBuilder().setNodeId(1).setUp(true).setReplicas(50).setLeaders(16).setBytes(3L << 30)
                        .setWritesPerSecond(1234.4).build(),
                NodePlacement.newBuilder().setNodeId(4).setUp(true).setDraining(true).setReplicas(2).build()));
        String[] lines = view.split("\n");
        assertThat(lines[0]).startsWith("as the balancer weighs the nodes");
        assertThat(lines[3]).contains("1 ").contains("50").contains("16").contains("3072.0 MiB").contains("1,234");
        assertThat(lines[4]).contains("4 (draining)").contains("2").contains("0 KiB");
    }

    @Test
    void aRejoiningNodeSaysSoEachNodeShowsItsBytesAndADownNodesReasonGoesUnderTheTable() {
        List<StatusCommand.NodeReport> reports = List.of(
                new StatusCommand.NodeReport("127.0.0.1:7001", NodeStatusResponse.newBuilder().setNodeId(1).setRanges(8)
                        .addRangeStatus(RangeStatus.newBuilder().setApproximateBytes(3 << 20))
                        .addRangeStatus(RangeStatus.newBuilder().setApproximateBytes(1 << 19)).build(), null),
                new StatusCommand.NodeReport("127.0.0.1:7002", NodeStatusResponse.newBuilder().setNodeId(2).setRanges(3)
                        .setRejoining(true).build(), null),
                new StatusCommand.NodeReport("127.0.0.1:7003", null, "java.net.ConnectException: Connection refused"));

        String[] lines = StatusCommand.render(reports).split("\n");

        assertThat(lines[2]).contains("127.0.0.1:7001").contains(" up ").doesNotContain("rejoining").contains("3.5 MiB");
        assertThat(lines[3]).contains("127.0.0.1:7002").contains("up, rejoining");
        assertThat(lines[4]).contains("127.0.0.1:7003").contains("DOWN").doesNotContain("refused");
        assertThat(lines[5]).isEqualTo("127.0.0.1:7003 is down: nothing listens there (connection refused): the node is"
                + " not running");
    }
}
