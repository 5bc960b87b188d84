package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.b;
import static io.flotilla.engine.kv.KvHarness.put;
import static io.flotilla.engine.kv.KvHarness.range;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.engine.kv.KvHarness.StoreKind;
import io.flotilla.engine.proto.SplitCommand;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ScanRequest;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** A range split applied by the state machine, over the memory store and RocksDB alike. */
class KvSplitTest {
    @TempDir
    Path dir;

    private final List<RangeDescriptor[]> heard = new ArrayList<>();

    private KvHarness harness(StoreKind kind) {
        KvHarness h = new KvHarness(kind.open(dir));
        h.sm.bootstrap(List.of(range(1, "a", "z", 1)));
        h.sm.onSplit((left, right) -> heard.add(new RangeDescriptor[] {left, right}));
        return h;
    }

    private static WriteCommand split(String key, long newRangeId, long epoch) {
        return WriteCommand.newBuilder().setRangeEpoch(epoch)
                .setSplit(SplitCommand.newBuilder().setSplitKey(b(key)).setNewRangeId(newRangeId)).build();
    }

    private static WriteCommand session(WriteCommand.Builder c, long client, long sequence, long epoch) {
        return c.setClientId(client).setSequence(sequence).setFirstUnackedSequence(1).setRangeEpoch(epoch).build();
    }

    private static List<String> keys(KvHarness h, long range) {
        List<String> keys = new ArrayList<>();
        h.sm.scan(range, ScanRequest.getDefaultInstance()).getEntriesList().forEach(kv -> keys.add(kv.getKey().toStringUtf8()));
        return keys;
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aSplitInTheMiddleOfARoundDividesTheKeysAndLaterWritesSeeTheNewBounds(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            List<WriteResult> results = h.round(1,
                    put("b", "1").build(),
                    put("m", "2").build(),
                    put("x", "3").build(),
                    split("m", 7, 1),
                    put("c", "4").setRangeEpoch(2).build(),
                    put("n", "5").setRangeEpoch(2).build(),
                    put("d", "6").build());

            RangeDescriptor left = results.get(3).getSplit().getLeft();
            RangeDescriptor right = results.get(3).getSplit().getRight();
            assertThat(left).isEqualTo(range(1, "a", "m", 2));
            assertThat(right).isEqualTo(range(7, "m", "z", 2));
            assertThat(results.get(4).hasPut()).as("a write for the new epoch applies").isTrue();
            assertThat(results.get(5).getError().hasKeyNotInRange()).as("a key that moved is refused").isTrue();
            assertThat(results.get(6).getError().hasEpochMismatch()).as("routed by the old epoch").isTrue();
            assertThat(results.get(6).getError().getEpochMismatch().getRanges(0)).isEqualTo(left);

            assertThat(keys(h, 1)).containsExactly("b", "c");
            assertThat(keys(h, 7)).containsExactly("m", "x");
            assertThat(h.sm.descriptor(1)).isEqualTo(left);
            assertThat(h.sm.descriptor(7)).isEqualTo(right);
            assertThat(h.sm.appliedIndex(1)).isEqualTo(7);
            assertThat(h.sm.appliedIndex(7)).as("the new range's log starts empty").isZero();
            assertThat(heard).hasSize(1);
            assertThat(heard.get(0)).containsExactly(left, right);

            assertThat(h.write(7, put("y", "8").setRangeEpoch(2).build()).hasPut()).isTrue();
            assertThat(h.get(7, "y")).isEqualTo("8");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aRetryOfAWriteAppliedBeforeTheSplitGetsItsFirstAnswerFromTheNewRange(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            WriteResult first = h.write(1, session(put("q", "once"), 42, 5, 1));
            assertThat(first.hasPut()).isTrue();
            h.write(1, split("p", 9, 1));
            // The client never saw the answer; it retries with the same sequence, now routed to range 9.
            WriteResult retry = h.write(9, session(put("q", "twice"), 42, 5, 2));
            assertThat(retry).isEqualTo(first);
            assertThat(h.get(9, "q")).as("applied once").isEqualTo("once");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aSplitTheRangeCannotTakeChangesNothingButTheAppliedIndex(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            h.write(1, put("b", "1").build());
            assertThat(h.write(1, split("a", 7, 1)).getError().getMessage()).contains("already starts at");
            assertThat(h.write(1, split("z", 7, 1)).getError().hasInvalidArgument()).isTrue();
            assertThat(h.write(1, split("m", 7, 3)).getError().hasEpochMismatch()).isTrue();
            assertThat(h.write(1, split("m", 1, 1)).getError().hasInvalidArgument()).isTrue();
            assertThat(h.sm.descriptor(1)).isEqualTo(range(1, "a", "z", 1));
            assertThat(h.sm.descriptor(7)).isNull();
            assertThat(h.sm.appliedIndex(1)).isEqualTo(5);
            assertThat(heard).isEmpty();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void splitsGoSeveralGenerationsDeepAndTheRangesTileTheKeySpace(StoreKind kind) {
        try (KvHarness h = harness(kind)) {
            for (char c = 'b'; c < 'z'; c++) {
                h.write(1, put(String.valueOf(c), "v").build());
            }
            h.write(1, split("m", 2, 1));
            h.write(2, split("t", 3, 2));
            h.write(1, split("f", 4, 2));
            h.write(3, split("y", 5, 3));
            List<RangeDescriptor> ranges = new ArrayList<>(h.sm.ranges());
            ranges.sort((x, y) -> x.getStartKey().toStringUtf8().compareTo(y.getStartKey().toStringUtf8()));
            assertThat(ranges).extracting(r -> r.getStartKey().toStringUtf8() + ".." + r.getEndKey().toStringUtf8())
                    .containsExactly("a..f", "f..m", "m..t", "t..y", "y..z");
            int total = 0;
            for (RangeDescriptor r : ranges) {
                for (String k : keys(h, r.getRangeId())) {
                    assertThat(k.compareTo(r.getStartKey().toStringUtf8())).isGreaterThanOrEqualTo(0);
                    assertThat(k.compareTo(r.getEndKey().toStringUtf8())).isLessThan(0);
                    total++;
                }
            }
            assertThat(total).as("every key in exactly one range").isEqualTo('z' - 'b');
        }
    }
}
