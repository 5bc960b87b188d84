package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.flotilla.kv.proto.RouteSource;
import java.util.List;
import org.junit.jupiter.api.Test;

class RangesCommandTest {
    private static RangeDescriptor range(long id, String start, String end, long epoch, long... voters) {
        RangeDescriptor.Builder b = RangeDescriptor.newBuilder().setRangeId(id).setStartKey(ByteString.copyFromUtf8(start))
                .setEndKey(ByteString.copyFromUtf8(end)).setEpoch(epoch).setConfVersion(1);
        for (long v : voters) {
            b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(v).setRole(ReplicaRole.VOTER));
        }
        return b.build();
    }

    private static RangeStatus status(RangeDescriptor range, long applied, boolean leader) {
        return RangeStatus.newBuilder().setRange(range).setAppliedIndex(applied).setLeader(leader).build();
    }

    @Test
    void listsTheNewestRangesWithEachReplicasAppliedIndexTheLeaderAndTheLag() {
        RangeDescriptor left = range(1, "", "m", 2, 1, 2);
        RangeDescriptor right = range(7, "m", "", 2, 1, 2);
        // Node 2 has not applied the split: it reports the range before it, which the newer record replaces.
        RouteLookupResponse fromMeta = RouteLookupResponse.newBuilder().addRanges(left).addRanges(right)
                .setSource(RouteSource.META_LEADER).build();
        RouteLookupResponse stale = RouteLookupResponse.newBuilder().addRanges(range(1, "", "", 1, 1, 2))
                .setSource(RouteSource.HOSTED_ONLY).build();
        List<StatusCommand.NodeReport> reports = List.of(
                new StatusCommand.NodeReport("n1", NodeStatusResponse.newBuilder().setNodeId(1)
                        .addRangeStatus(status(left, 40, true)).addRangeStatus(status(right, 5, true)).build(), null),
                new StatusCommand.NodeReport("n2", NodeStatusResponse.newBuilder().setNodeId(2)
                        .addRangeStatus(status(range(1, "", "", 1, 1, 2), 31, false)).build(), null));

        String table = RangesCommand.render(List.of(stale, fromMeta), reports);

        assertThat(table).contains("2 ranges, from the meta range's leader");
        String[] lines = table.split("\n");
        assertThat(lines[2]).contains("1 ").contains("[\"\", \"m\")").contains("1 (40), 2 (31)").contains("9 entries");
        assertThat(lines[3]).contains("7 ").contains("1 (5), 2 (?)").contains("0 entries");
    }
}
