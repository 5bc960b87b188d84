package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.range;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.engine.proto.MoveCommand;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.AddNodeRequest;
import io.flotilla.kv.proto.BalancerSwitch;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RecordRangesRequest;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.router.MetaRange;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The meta range's records of placement: one move per range, checked against the recorded range
 * at apply; an end removes only the move it names and records the range as the move left it;
 * settings and added nodes.
 */
class PlacementRecordsTest {
    @TempDir
    Path dir;

    private static final RangeDescriptor SEVEN = replicas(range(7, "a", "z", 1), 1, 2, 3);

    private KvHarness harness() {
        KvHarness h = new KvHarness(KvHarness.StoreKind.ROCKS.open(dir));
        h.sm.bootstrap(List.of(MetaRange.initialDescriptor(new long[] {1, 2, 3}), range(1, "", "m", 1)));
        h.write(MetaRange.ID, WriteCommand.newBuilder().setRangeEpoch(1)
                .setRecordRanges(RecordRangesRequest.newBuilder().addRanges(SEVEN)).build());
        return h;
    }

    private static RangeDescriptor replicas(RangeDescriptor d, long... nodes) {
        RangeDescriptor.Builder b = d.toBuilder().clearReplicas();
        for (long n : nodes) {
            b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(n).setRole(ReplicaRole.VOTER));
        }
        return b.build();
    }

    private static WriteCommand start(long range, long from, long to, long atMs) {
        return WriteCommand.newBuilder().setRangeEpoch(1).setProposedAtMs(atMs).setMove(MoveCommand.newBuilder()
                .setStart(MoveRecord.newBuilder().setRangeId(range).setFromNodeId(from).setToNodeId(to))).build();
    }

    @Test
    void oneMovePerRangeCheckedAgainstTheRecordedRange() {
        try (KvHarness h = harness()) {
            assertThat(h.write(MetaRange.ID, start(7, 1, 1, 1)).getError().hasInvalidArgument()).isTrue();
            assertThat(h.write(MetaRange.ID, start(7, 1, 2, 1)).getError().getMessage()).contains("already holds");
            WriteResult first = h.write(MetaRange.ID, start(7, 1, 4, 100));
            assertThat(first.getMove().getAlreadyMoving()).isFalse();
            assertThat(first.getMove().getMove().getStartedAtMs()).isEqualTo(100);
            // A second start answers the move recorded, whatever it asks.
            WriteResult second = h.write(MetaRange.ID, start(7, 2, 5, 200));
            assertThat(second.getMove().getAlreadyMoving()).isTrue();
            assertThat(second.getMove().getMove()).isEqualTo(first.getMove().getMove());
            assertThat(h.sm.recordedMoves()).containsExactly(first.getMove().getMove());
            // The moves sort after the descriptors and do not show among them.
            assertThat(h.sm.recordedRanges()).containsExactly(SEVEN);
            assertThat(h.write(MetaRange.ID, start(8, 1, 4, 1)).getError().getMessage()).contains("no record of range 8");
        }
    }

    @Test
    void aMoveOfTheMetaRangeIsCheckedAgainstItsOwnDescriptorWhichItsEndDoesNotRecord() {
        try (KvHarness h = harness()) {
            assertThat(h.write(MetaRange.ID, start(MetaRange.ID, 4, 5, 1)).getError().getMessage())
                    .contains("node 4 holds no replica");
            assertThat(h.write(MetaRange.ID, start(MetaRange.ID, 1, 2, 1)).getError().getMessage())
                    .contains("already holds");
            MoveRecord move = h.write(MetaRange.ID, start(MetaRange.ID, 1, 4, 100)).getMove().getMove();
            assertThat(h.sm.recordedMoves()).containsExactly(move);

            RangeDescriptor after = replicas(MetaRange.initialDescriptor(new long[] {1, 2, 3}), 2, 3, 4).toBuilder()
                    .setConfVersion(4).build();
            h.write(MetaRange.ID, WriteCommand.newBuilder().setRangeEpoch(1).setMove(MoveCommand.newBuilder().setEnd(move)
                    .setRange(after)).build());
            assertThat(h.sm.recordedMoves()).isEmpty();
            assertThat(h.sm.recordedRanges()).containsExactly(SEVEN);
        }
    }

    @Test
    void anEndRemovesOnlyTheMoveItNamesAndRecordsTheRange() {
        try (KvHarness h = harness()) {
            MoveRecord move = h.write(MetaRange.ID, start(7, 1, 4, 100)).getMove().getMove();
            RangeDescriptor after = replicas(SEVEN, 2, 3, 4).toBuilder().setConfVersion(4).build();
            MoveRecord older = move.toBuilder().setStartedAtMs(50).build();
            h.write(MetaRange.ID, WriteCommand.newBuilder().setRangeEpoch(1)
                    .setMove(MoveCommand.newBuilder().setEnd(older)).build());
            assertThat(h.sm.recordedMoves()).containsExactly(move);

            h.write(MetaRange.ID, WriteCommand.newBuilder().setRangeEpoch(1)
                    .setMove(MoveCommand.newBuilder().setEnd(move).setRange(after)).build());
            assertThat(h.sm.recordedMoves()).isEmpty();
            assertThat(h.sm.recordedRanges()).containsExactly(after);
            // Moving node 1 now is refused: the recorded range no longer has it.
            assertThat(h.write(MetaRange.ID, start(7, 1, 5, 300)).getError().getMessage()).contains("holds no replica");
        }
    }

    @Test
    void settingsAndAddedNodes() {
        try (KvHarness h = harness()) {
            WriteCommand.Builder c = WriteCommand.newBuilder().setRangeEpoch(1);
            h.write(MetaRange.ID, c.setUpdateSettings(UpdateSettingsRequest.newBuilder().setDrainNodeId(4)
                    .setBalancer(BalancerSwitch.BALANCER_OFF).setSnapshotSendBytesPerSecond(1 << 20)).build());
            h.write(MetaRange.ID, c.setUpdateSettings(UpdateSettingsRequest.newBuilder().setDownAfterMs(60_000)).build());
            assertThat(h.sm.recordedSettings().getDrainingNodeIdsList()).containsExactly(4L);
            assertThat(h.sm.recordedSettings().getBalancerOff()).isTrue();
            assertThat(h.sm.recordedSettings().getDownAfterMs()).isEqualTo(60_000);
            assertThat(h.sm.recordedSettings().getSnapshotSendBytesPerSecond()).isEqualTo(1 << 20);
            h.write(MetaRange.ID, c.setUpdateSettings(UpdateSettingsRequest.newBuilder().setUndrainNodeId(4)
                    .setBalancer(BalancerSwitch.BALANCER_ON)).build());
            assertThat(h.sm.recordedSettings().getDrainingNodeIdsList()).isEmpty();
            assertThat(h.sm.recordedSettings().getBalancerOff()).isFalse();

            NodeAddress five = NodeAddress.newBuilder().setNodeId(5).setHost("127.0.0.1").setClientPort(7552)
                    .setPeerPort(7550).setSnapshotPort(7551).build();
            WriteCommand add = WriteCommand.newBuilder().setRangeEpoch(1)
                    .setAddNode(AddNodeRequest.newBuilder().setNode(five)).build();
            assertThat(h.write(MetaRange.ID, add).getAddNode().getAlreadyMember()).isFalse();
            assertThat(h.write(MetaRange.ID, add).getAddNode().getAlreadyMember()).isTrue();
            WriteCommand moved = WriteCommand.newBuilder().setRangeEpoch(1).setAddNode(AddNodeRequest.newBuilder()
                    .setNode(five.toBuilder().setClientPort(9999))).build();
            assertThat(h.write(MetaRange.ID, moved).getError().hasInvalidArgument()).isTrue();
            assertThat(h.sm.recordedMembers()).containsExactly(five);
            assertThat(h.sm.recordedRanges()).containsExactly(SEVEN);
        }
    }
}
