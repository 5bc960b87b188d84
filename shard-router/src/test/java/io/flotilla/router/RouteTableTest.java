package io.flotilla.router;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Lookups and monotonic updates of {@link RouteTable}: splits, merges, stale answers, any order. One test thread. */
class RouteTableTest {
    private final RouteTable table = new RouteTable();

    private static ByteString key(String text) {
        return ByteString.copyFromUtf8(text);
    }

    private static RangeDescriptor range(long id, String start, String end, long epoch, long confVersion) {
        return RangeDescriptor.newBuilder().setRangeId(id).setStartKey(key(start)).setEndKey(key(end))
                .setEpoch(epoch).setConfVersion(confVersion)
                .addReplicas(ReplicaDescriptor.newBuilder().setNodeId(1)).build();
    }

    @Test
    void looksUpTheRangeHoldingAKeyAndNothingInHoles() {
        table.update(range(1, "", "g", 1, 1));
        table.update(range(3, "p", "", 1, 1));

        assertThat(table.lookup(key("")).getRangeId()).isEqualTo(1);
        assertThat(table.lookup(key("f\u00ff")).getRangeId()).isEqualTo(1);
        assertThat(table.lookup(key("g"))).as("[g, p) is a hole").isNull();
        assertThat(table.lookup(key("o"))).isNull();
        assertThat(table.lookup(key("p")).getRangeId()).isEqualTo(3);
        assertThat(table.lookup(key("zzzz")).getRangeId()).isEqualTo(3);
    }

    @Test
    void keysCompareAsUnsignedBytes() {
        table.update(range(1, "", "\u007f", 1, 1));
        RangeDescriptor high = RangeDescriptor.newBuilder().setRangeId(2).setStartKey(ByteString.copyFrom(new byte[] {(byte) 0x80}))
                .setEpoch(1).build();
        table.update(high);

        assertThat(table.lookup(ByteString.copyFrom(new byte[] {(byte) 0xff, 1})).getRangeId()).isEqualTo(2);
        assertThat(table.lookup(ByteString.copyFrom(new byte[] {0x10})).getRangeId()).isEqualTo(1);
    }

    @Test
    void splitHalvesEvictTheirOlderParent() {
        table.update(range(1, "a", "z", 1, 1));

        assertThat(table.update(range(2, "m", "z", 2, 1))).isEqualTo(RouteTable.UpdateOutcome.INSERTED);

        assertThat(table.byId(1)).as("the parent overlaps the newer right half").isNull();
        assertThat(table.lookup(key("b"))).as("the left half is not known yet").isNull();
        assertThat(table.lookup(key("n")).getRangeId()).isEqualTo(2);

        table.update(range(1, "a", "m", 2, 1));
        assertThat(table.lookup(key("b")).getRangeId()).isEqualTo(1);
        assertThat(table.size()).isEqualTo(2);
    }

    @Test
    void aStaleParentNeverReplacesItsNewerHalves() {
        table.update(range(1, "a", "m", 2, 1));
        table.update(range(2, "m", "z", 2, 1));

        assertThat(table.update(range(1, "a", "z", 1, 1))).isEqualTo(RouteTable.UpdateOutcome.STALE);

        assertThat(table.lookup(key("n")).getRangeId()).isEqualTo(2);
        assertThat(table.byId(1).getEndKey()).isEqualTo(key("m"));
    }

    @Test
    void aDescriptorOlderThanOnlyOneOfItsOverlapsIsIgnoredWhole() {
        table.update(range(1, "a", "g", 1, 1));
        table.update(range(2, "g", "z", 3, 1));

        assertThat(table.update(range(5, "c", "k", 2, 1))).isEqualTo(RouteTable.UpdateOutcome.STALE);

        assertThat(table.descriptors()).extracting(RangeDescriptor::getRangeId).containsExactly(1L, 2L);
    }

    @Test
    void aMergeEvictsBothOlderInputs() {
        table.update(range(1, "a", "m", 2, 1));
        table.update(range(2, "m", "z", 2, 1));
        table.update(range(3, "z", "", 2, 1));

        assertThat(table.update(range(1, "a", "z", 3, 1))).isEqualTo(RouteTable.UpdateOutcome.INSERTED);

        assertThat(table.descriptors()).extracting(RangeDescriptor::getRangeId).containsExactly(1L, 3L);
        assertThat(table.lookup(key("q")).getRangeId()).isEqualTo(1);
    }

    @Test
    void confVersionDecidesBetweenEqualEpochs() {
        table.update(range(1, "a", "z", 4, 7));

        assertThat(table.update(range(1, "a", "z", 4, 6))).isEqualTo(RouteTable.UpdateOutcome.STALE);
        assertThat(table.byId(1).getConfVersion()).isEqualTo(7);

        assertThat(table.update(range(1, "a", "z", 4, 8))).isEqualTo(RouteTable.UpdateOutcome.INSERTED);
        assertThat(table.byId(1).getConfVersion()).isEqualTo(8);
    }

    @Test
    void epochOutranksConfVersion() {
        table.update(range(1, "a", "z", 4, 9));

        assertThat(table.update(range(1, "a", "m", 5, 1))).isEqualTo(RouteTable.UpdateOutcome.INSERTED);
        assertThat(table.update(range(1, "a", "z", 4, 10))).isEqualTo(RouteTable.UpdateOutcome.STALE);
        assertThat(table.byId(1).getEndKey()).isEqualTo(key("m"));
    }

    @Test
    void theSameDescriptorAgainChangesNothing() {
        table.update(range(1, "a", "z", 2, 2));

        assertThat(table.update(range(1, "a", "z", 2, 2))).isEqualTo(RouteTable.UpdateOutcome.UNCHANGED);
        assertThat(table.size()).isEqualTo(1);
    }

    @Test
    void aNewerDescriptorOfARangeThatMovedItsIntervalDropsTheOldEntry() {
        table.update(range(7, "a", "c", 1, 1));

        table.update(range(7, "x", "y", 2, 1));

        assertThat(table.lookup(key("b"))).isNull();
        assertThat(table.byId(7).getStartKey()).isEqualTo(key("x"));
        assertThat(table.size()).isEqualTo(1);
    }

    @Test
    void aStaleDescriptorOfTheSameRangeElsewhereIsIgnored() {
        table.update(range(7, "x", "y", 2, 1));

        assertThat(table.update(range(7, "a", "c", 1, 1))).isEqualTo(RouteTable.UpdateOutcome.STALE);
        assertThat(table.lookup(key("b"))).isNull();
    }

    @Test
    void updatesInAnyOrderConvergeOnTheNewest() {
        List<RangeDescriptor> history = List.of(
                range(1, "", "", 1, 1),
                range(1, "", "m", 2, 1),
                range(2, "m", "", 2, 1),
                range(2, "m", "t", 3, 1),
                range(3, "t", "", 3, 1),
                range(2, "m", "t", 3, 2));
        for (int rotation = 0; rotation < history.size(); rotation++) {
            RouteTable shuffled = new RouteTable();
            for (int i = 0; i < history.size(); i++) {
                shuffled.update(history.get((i + rotation) % history.size()));
            }
            RouteTable reversed = new RouteTable();
            for (int i = history.size() - 1; i >= 0; i--) {
                reversed.update(history.get((i + rotation) % history.size()));
            }
            for (RouteTable converged : List.of(shuffled, reversed)) {
                assertThat(converged.lookup(key("a"))).isEqualTo(range(1, "", "m", 2, 1));
                assertThat(converged.lookup(key("n"))).isEqualTo(range(2, "m", "t", 3, 2));
                assertThat(converged.lookup(key("u"))).isEqualTo(range(3, "t", "", 3, 1));
            }
        }
    }

    @Test
    void evictForgetsOnlyWhatIsNotNewerThanTheRoutedVersion() {
        RangeDescriptor routed = range(1, "a", "z", 2, 1);
        table.update(range(1, "a", "z", 2, 3));

        assertThat(table.evict(routed)).as("learned a newer descriptor since routing").isFalse();
        assertThat(table.evict(range(1, "a", "z", 2, 3))).isTrue();
        assertThat(table.lookup(key("b"))).isNull();
        assertThat(table.evict(routed)).isFalse();
    }

    @Test
    void rejectsInvertedIntervals() {
        assertThatThrownBy(() -> table.update(range(1, "m", "a", 1, 1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("range 1").hasMessageContaining("\"m\"");
        assertThatThrownBy(() -> table.update(range(1, "m", "m", 1, 1))).isInstanceOf(IllegalArgumentException.class);
    }
}
