package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.range;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RecordRangesRequest;
import io.flotilla.router.MetaRange;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The meta range's apply: a record keeps each descriptor only if it is newer than the one held for
 * its range, so late and repeated records never undo a newer one; only the meta range records, and
 * the table reads back in range id order.
 */
class MetaRangeApplyTest {
    @TempDir
    Path dir;

    private KvHarness harness(KvHarness.StoreKind kind) {
        KvHarness h = new KvHarness(kind.open(dir));
        h.sm.bootstrap(List.of(MetaRange.initialDescriptor(new long[] {1, 2, 3}), range(1, "", "m", 1)));
        return h;
    }

    private static WriteCommand record(RangeDescriptor... ranges) {
        return WriteCommand.newBuilder().setRangeEpoch(1)
                .setRecordRanges(RecordRangesRequest.newBuilder().addAllRanges(List.of(ranges))).build();
    }

    private static RangeDescriptor conf(RangeDescriptor d, long confVersion) {
        return d.toBuilder().setConfVersion(confVersion).build();
    }

    @ParameterizedTest
    @EnumSource(KvHarness.StoreKind.class)
    void keepsOnlyNewerDescriptors(KvHarness.StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            RangeDescriptor parent = range(7, "a", "z", 1);
            RangeDescriptor left = range(7, "a", "k", 2);
            RangeDescriptor right = range(9, "k", "z", 2);

            assertThat(h.write(MetaRange.ID, record(parent)).getRecordRanges().getRecorded()).isEqualTo(1);
            assertThat(h.write(MetaRange.ID, record(left, right)).getRecordRanges().getRecorded()).isEqualTo(2);
            // A late record of the parent, and a repeat of the split's: nothing changes.
            assertThat(h.write(MetaRange.ID, record(parent, left)).getRecordRanges().getRecorded()).isZero();
            assertThat(h.sm.recordedRanges()).containsExactly(left, right);

            // Same epoch, newer conf version (a membership change): kept; an older one is not.
            RangeDescriptor moved = conf(right, 5);
            assertThat(h.write(MetaRange.ID, record(moved, conf(right, 3))).getRecordRanges().getRecorded()).isEqualTo(1);
            assertThat(h.sm.recordedRanges()).containsExactly(left, moved);
        }
    }

    @ParameterizedTest
    @EnumSource(KvHarness.StoreKind.class)
    void onlyTheMetaRangeRecords(KvHarness.StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            WriteResult refused = h.write(1, record(range(7, "a", "k", 2)));
            assertThat(refused.getError().hasInvalidArgument()).isTrue();
            assertThat(refused.getError().getMessage()).contains("not the meta range");

            assertThat(h.sm.recordedRanges()).isEmpty();
            assertThat(h.sm.ranges()).as("user ranges leave the meta range out").extracting(RangeDescriptor::getRangeId)
                    .containsExactly(1L);
            assertThat(h.sm.allRanges()).extracting(RangeDescriptor::getRangeId).containsExactlyInAnyOrder(1L, MetaRange.ID);
        }
    }

    @ParameterizedTest
    @EnumSource(KvHarness.StoreKind.class)
    void readsBackEveryPage(KvHarness.StoreKind kind) {
        try (KvHarness h = new KvHarness(kind.open(dir), new KvLimits(1024, 1024, 1000, 1 << 20, 3,
                KvLimits.defaults().maxScanBytes()), SessionConfig.defaults())) {
            h.sm.bootstrap(List.of(MetaRange.initialDescriptor(new long[] {1})));
            RangeDescriptor[] many = new RangeDescriptor[10];
            for (int i = 0; i < many.length; i++) {
                many[i] = range(100 + i, "k" + i, "k" + i + "~", 1);
            }
            h.write(MetaRange.ID, record(many));
            assertThat(h.sm.recordedRanges()).containsExactly(many);
        }
    }
}
