package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.b;
import static io.flotilla.engine.kv.KvHarness.batch;
import static io.flotilla.engine.kv.KvHarness.cas;
import static io.flotilla.engine.kv.KvHarness.condition;
import static io.flotilla.engine.kv.KvHarness.delete;
import static io.flotilla.engine.kv.KvHarness.deleteOp;
import static io.flotilla.engine.kv.KvHarness.put;
import static io.flotilla.engine.kv.KvHarness.putOp;
import static io.flotilla.engine.kv.KvHarness.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvHarness.StoreKind;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.EntryType;
import io.flotilla.router.RouteTable;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The apply logic, run against the memory store and RocksDB alike. */
class KvStateMachineTest {
    @TempDir
    Path dir;

    private KvHarness harness(StoreKind kind) {
        KvHarness h = new KvHarness(kind.open(dir));
        h.sm.bootstrap(List.of(range(1, "a", "m", 1), range(2, "m", "", 1)));
        return h;
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void putGetDeleteAndTheIndexTheyWereReadAt(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            assertThat(h.write(1, put("apple", "red").build()).hasPut()).isTrue();
            assertThat(h.get(1, "apple")).isEqualTo("red");
            assertThat(h.sm.get(1, b("apple")).getReadAtIndex()).isEqualTo(1);
            WriteResult deleted = h.write(1, delete("apple").build());
            assertThat(deleted.getDelete().getExisted()).isTrue();
            assertThat(h.write(1, delete("apple").build()).getDelete().getExisted()).isFalse();
            assertThat(h.get(1, "apple")).isNull();
            assertThat(h.sm.appliedIndex(1)).isEqualTo(3);
            assertThat(h.sm.get(99, b("apple"))).isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void compareAndSetSeesEarlierWritesOfTheSameRoundAndReportsTheCurrentValue(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            List<WriteResult> r = h.round(1, put("k", "1").build(), cas("k", "1", "2").build(), cas("k", "1", "3").build(),
                    cas("fresh", null, "x").build());
            assertThat(r.get(1).getCompareAndSet().getSucceeded()).isTrue();
            assertThat(r.get(2).getCompareAndSet().getSucceeded()).isFalse();
            assertThat(r.get(2).getCompareAndSet().getCurrentFound()).isTrue();
            assertThat(r.get(2).getCompareAndSet().getCurrentValue().toStringUtf8()).isEqualTo("2");
            assertThat(r.get(3).getCompareAndSet().getSucceeded()).isTrue();
            assertThat(h.get(1, "k")).isEqualTo("2");
            assertThat(h.get(1, "fresh")).isEqualTo("x");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aBatchAppliesWholeOrNotAtAll(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.write(1, put("a1", "old").build());
            WriteResult failed = h.write(1, batch(List.of(condition("a1", "old"), condition("a2", "x")),
                    List.of(putOp("a1", "new"), putOp("a3", "new"))).build());
            assertThat(failed.getBatchWrite().getSucceeded()).isFalse();
            assertThat(failed.getBatchWrite().getFailedCondition()).isEqualTo(1);
            assertThat(failed.getBatchWrite().getCurrentFound()).isFalse();
            assertThat(h.get(1, "a1")).isEqualTo("old");
            assertThat(h.get(1, "a3")).isNull();

            WriteResult outside = h.write(1, batch(List.of(), List.of(putOp("a1", "new"), putOp("zebra", "new"))).build());
            assertThat(outside.getError().hasKeyNotInRange()).isTrue();
            assertThat(h.get(1, "a1")).isEqualTo("old");

            WriteResult ok = h.write(1, batch(List.of(condition("a1", "old"), condition("a2", null)),
                    List.of(putOp("a1", "new"), putOp("a3", "new"), deleteOp("a1"), putOp("a4", "v"))).build());
            assertThat(ok.getBatchWrite().getSucceeded()).isTrue();
            assertThat(h.get(1, "a1")).isNull();
            assertThat(h.get(1, "a3")).isEqualTo("new");
            assertThat(h.get(1, "a4")).isEqualTo("v");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void staleEpochsAndKeysOutsideTheRangeChangeNothing(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            Error stale = h.write(1, put("b", "v").setRangeEpoch(7).build()).getError();
            assertThat(stale.hasEpochMismatch()).isTrue();
            assertThat(stale.getEpochMismatch().getRanges(0).getEpoch()).isEqualTo(1);
            Error outside = h.write(1, put("zz", "v").build()).getError();
            assertThat(outside.hasKeyNotInRange()).isTrue();
            assertThat(outside.getKeyNotInRange().getRange().getRangeId()).isEqualTo(1);
            assertThat(outside.getMessage()).contains("\"zz\"").contains("refresh");
            assertThat(h.write(2, put("zz", "v").build()).hasPut()).isTrue();
            assertThat(h.get(1, "b")).isNull();
            assertThat(h.sm.appliedIndex(1)).isEqualTo(2);
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void noOpsConfChangesAndGarbageAdvanceTheIndexWithoutStoppingApply(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.entries(1, EntryType.NORMAL, new byte[0]);
            h.entries(1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_VOTER, 4).encode());
            h.entries(1, EntryType.NORMAL, new byte[] {(byte) 0xff, 0x01, 0x02});
            assertThat(h.sm.appliedIndex(1)).isEqualTo(3);
            assertThat(h.sm.takeResult(1, 3).getError().hasInternal()).isTrue();
            assertThat(h.write(1, put("b", "still works").build()).hasPut()).isTrue();
            assertThat(h.sm.takeResult(1, 4)).as("a result is taken once").isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void membershipChangesUpdateTheDescriptorsReplicasAndConfVersion(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.sm.destroy(1);
            h.sm.bootstrap(List.of(withVoters(range(1, "a", "m", 1), 1, 2, 3), withVoters(range(5, "y", "z", 1), 1)));
            RangeDescriptor before = h.sm.descriptor(1);
            // A rejoin's three steps, then a voter added and the last voter's removal refused as the core refuses it.
            h.entries(1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.REMOVE_NODE, 3).encode());
            assertThat(voters(h.sm.descriptor(1))).containsExactly(1L, 2L);
            h.entries(1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_LEARNER, 3).encode());
            assertThat(h.sm.descriptor(1).getReplicasList()).extracting(ReplicaDescriptor::getRole)
                    .containsExactly(ReplicaRole.VOTER, ReplicaRole.VOTER, ReplicaRole.LEARNER);
            assertThat(h.write(1, put("b", "between changes").build()).hasPut()).isTrue();
            h.entries(1, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.PROMOTE_LEARNER, 3).encode());
            RangeDescriptor after = h.sm.descriptor(1);
            assertThat(voters(after)).containsExactly(1L, 2L, 3L);
            assertThat(after.getConfVersion()).isEqualTo(before.getConfVersion() + 3);
            assertThat(after.getEpoch()).as("membership changes leave the epoch").isEqualTo(before.getEpoch());
            assertThat(RouteTable.compareVersions(after, before)).isPositive();

            h.entries(5, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.REMOVE_NODE, 1).encode());
            h.entries(5, EntryType.CONF_CHANGE, new ConfChange(ConfChangeType.ADD_VOTER, 1).encode());
            assertThat(voters(h.sm.descriptor(5))).as("the last voter stays").containsExactly(1L);
            assertThat(h.sm.descriptor(5).getConfVersion()).as("changes that change nothing keep the conf version")
                    .isEqualTo(1);
        }
    }

    private static RangeDescriptor withVoters(RangeDescriptor range, long... voters) {
        RangeDescriptor.Builder b = range.toBuilder().clearReplicas();
        for (long v : voters) {
            b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(v).setRole(ReplicaRole.VOTER));
        }
        return b.build();
    }

    private static List<Long> voters(RangeDescriptor range) {
        return range.getReplicasList().stream().filter(r -> r.getRole() == ReplicaRole.VOTER)
                .map(ReplicaDescriptor::getNodeId).toList();
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void oversizedWritesAreRefusedAtApplyToo(StoreKind kind) {
        try (KvHarness h = new KvHarness(kind.open(dir), new KvLimits(8, 16, 3, 40, 100, 1000), SessionConfig.defaults())) {
            h.sm.bootstrap(List.of(range(1, "", "", 1)));
            assertThat(h.write(1, put("123456789", "v").build()).getError().getTooLarge().getLimit()).isEqualTo("key");
            assertThat(h.write(1, put("k", "12345678901234567").build()).getError().getTooLarge().getLimit()).isEqualTo("value");
            assertThat(h.write(1, batch(List.of(), List.of(putOp("a", "1"), putOp("b", "2"), putOp("c", "3"), putOp("d", "4")))
                    .build()).getError().getTooLarge().getLimit()).isEqualTo("batch_ops");
            assertThat(h.write(1, batch(List.of(), List.of(putOp("a", "1234567890123456"), putOp("b", "1234567890123456"),
                    putOp("c", "1234567890123456"))).build()).getError().getTooLarge().getLimit()).isEqualTo("batch_bytes");
            assertThat(h.get(1, "a")).isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void scansArePagedClippedToTheRangeAndReadAtOneIndex(StoreKind kind) {
        try (KvHarness h = new KvHarness(kind.open(dir), new KvLimits(64, 64, 10, 1000, 3, 1000), SessionConfig.defaults())) {
            h.sm.bootstrap(List.of(range(1, "b", "f", 1)));
            h.round(1, put("b1", "1").build(), put("c1", "2").build(), put("c2", "3").build(), put("d1", "4").build(),
                    put("e1", "5").build());
            ScanResponse first = h.sm.scan(1, ScanRequest.newBuilder().setStartKey(b("a")).build());
            assertThat(first.getEntriesList()).extracting(kv -> kv.getKey().toStringUtf8()).containsExactly("b1", "c1", "c2");
            assertThat(first.getMore()).isTrue();
            assertThat(first.getContinuationKey().toStringUtf8()).isEqualTo("d1");
            assertThat(first.getReadAtIndex()).isEqualTo(5);
            ScanResponse second = h.sm.scan(1, ScanRequest.newBuilder().setStartKey(first.getContinuationKey())
                    .setEndKey(b("zzz")).build());
            assertThat(second.getEntriesList()).extracting(kv -> kv.getKey().toStringUtf8()).containsExactly("d1", "e1");
            assertThat(second.getMore()).isFalse();
            ScanResponse limited = h.sm.scan(1, ScanRequest.newBuilder().setStartKey(b("c")).setEndKey(b("d"))
                    .setLimit(1).setKeysOnly(true).build());
            assertThat(limited.getEntriesList()).containsExactly(KeyValue.newBuilder().setKey(b("c1")).build());
            assertThat(limited.getContinuationKey().toStringUtf8()).isEqualTo("c2");
            assertThat(h.sm.scan(1, ScanRequest.newBuilder().setStartKey(b("x")).build()).getEntriesCount()).isZero();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void bootstrapIsIdempotentAndRangesListsEveryRange(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.write(1, put("b", "v").build());
            h.sm.bootstrap(List.of(range(1, "a", "m", 1), range(3, "x", "y", 1)));
            assertThat(h.sm.appliedIndex(1)).isEqualTo(1);
            assertThat(h.sm.ranges()).extracting(r -> r.getRangeId()).containsExactly(1L, 2L, 3L);
            assertThat(h.sm.descriptor(2).getStartKey()).isEqualTo(ByteString.copyFromUtf8("m"));
            assertThat(h.sm.descriptor(4)).isNull();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void destroyIsIdempotent(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.write(1, put("b", "v").build());
            h.sm.destroy(1);
            h.sm.destroy(1);
            h.sm.destroy(42);
            assertThat(h.sm.descriptor(1)).isNull();
            assertThat(h.sm.appliedIndex(1)).isZero();
            assertThat(h.sm.get(1, b("b"))).isNull();
            assertThat(h.sm.ranges()).extracting(r -> r.getRangeId()).containsExactly(2L);
            assertThatThrownBy(() -> h.write(1, put("b", "v").build())).hasMessageContaining("no state");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aFullStoreRefusesNewRangesWithATypedError(StoreKind kind) {
        KvStore store = kind == StoreKind.MEMORY ? new MemoryKvStore(3)
                : KvHarness.openRocksWith(KvHarness.rocksConfig(dir).withMaxGroups(3));
        try (KvHarness h = new KvHarness(store)) {
            h.sm.bootstrap(List.of(range(1, "a", "b", 1), range(2, "b", "c", 1)));
            assertThatThrownBy(() -> h.sm.bootstrap(List.of(range(3, "c", "d", 1), range(4, "d", "e", 1))))
                    .isInstanceOf(GroupLimitException.class).hasMessageContaining("cap of 3 ranges");
            assertThat(h.sm.ranges()).hasSize(2);
            h.sm.bootstrap(List.of(range(3, "c", "d", 1)));
            assertThat(h.sm.ranges()).hasSize(3);
        }
    }
}
