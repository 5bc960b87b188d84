package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.MemoryKvStore;
import io.flotilla.engine.kv.SessionConfig;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.MultiRaftConfig;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.TransportPeerSender;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import io.flotilla.wal.Wal;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Which replicas node 1 drops, given the meta range's record: those whose newer descriptor, or one
 * as new, no longer lists it, the meta range's own replica included (judged by the newest
 * descriptor of it known), and only once seen so in {@link RemovedReplicas#ROUNDS_BEFORE_DROP}
 * rounds in a row. The runtime is never started: its workers take the destroys into their inboxes.
 */
class RemovedReplicasTest {
    @TempDir
    Path dir;

    private static final RangeDescriptor META = MetaRange.initialDescriptor(new long[] {1, 2, 3});
    private static final RangeDescriptor RANGE = replicas(KeySpace.tile(1, 1, 1).get(0), 1, 2, 3);

    private Wal wal;
    private MultiRaftNode runtime;
    private RemovedReplicas removed;

    @BeforeEach
    void start() throws Exception {
        wal = Wal.open(dir.resolve("wal"), 3, 1);
        KvStateMachine machine = new KvStateMachine(new MemoryKvStore(), KvLimits.defaults(), SessionConfig.defaults());
        machine.bootstrap(List.of(META, RANGE));
        runtime = new MultiRaftNode(MultiRaftConfig.defaults(1), wal, machine, new TransportPeerSender());
        removed = new RemovedReplicas(1, runtime, machine);
    }

    @AfterEach
    void stop() throws Exception {
        runtime.close();
        wal.close();
    }

    @Test
    void aMetaReplicaThatTheNewestDescriptorOfTheMetaRangeNoLongerListsIsDropped() {
        RangeDescriptor moved = replicas(META, 2, 3, 4).toBuilder().setConfVersion(4).build();
        Map<Long, RangeDescriptor> recorded = Map.of(MetaRange.ID, moved, RANGE.getRangeId(), RANGE);
        for (int round = 1; round < RemovedReplicas.ROUNDS_BEFORE_DROP; round++) {
            assertThat(removed.round(recorded)).as("round %d", round).isEmpty();
        }
        assertThat(removed.round(recorded)).containsExactly(MetaRange.ID);
        assertThat(removed.dropped()).isEqualTo(1);
    }

    @Test
    void aReplicaIsKeptWhileListedOrNewerThanTheRecordAndDroppedWhenTheRecordIsAsNewWithoutIt() {
        RangeDescriptor older = replicas(RANGE, 2, 3, 4).toBuilder().setConfVersion(0).build();
        for (int round = 0; round < 2 * RemovedReplicas.ROUNDS_BEFORE_DROP; round++) {
            assertThat(removed.round(Map.of(RANGE.getRangeId(), RANGE, MetaRange.ID, META))).isEmpty();
            assertThat(removed.round(Map.of(RANGE.getRangeId(), older))).isEmpty();
        }
        // Same epoch and conf version, not listing node 1: the replica here applied its own removal.
        RangeDescriptor sameVersion = replicas(RANGE, 2, 3, 4);
        for (int round = 1; round < RemovedReplicas.ROUNDS_BEFORE_DROP; round++) {
            assertThat(removed.round(Map.of(RANGE.getRangeId(), sameVersion))).isEmpty();
        }
        assertThat(removed.round(Map.of(RANGE.getRangeId(), sameVersion))).containsExactly(RANGE.getRangeId());
    }

    private static RangeDescriptor replicas(RangeDescriptor d, long... nodes) {
        RangeDescriptor.Builder b = d.toBuilder().clearReplicas();
        for (long n : nodes) {
            b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(n).setRole(ReplicaRole.VOTER));
        }
        return b.build();
    }
}
