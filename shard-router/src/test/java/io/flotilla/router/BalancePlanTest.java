package io.flotilla.router;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BalancePlanTest {
    private static final long DOWN_AFTER_MS = 300_000;

    @Test
    void aNewNodeFillsUpToWithinTenPercentOfEvenTwoMovesAtATime() {
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(64, 1, 2, 3));
        List<BalancePlan.Node> nodes = List.of(up(1), up(2), up(3), up(4));
        int rounds = 0;
        while (true) {
            BalancePlan.Decision d = BalancePlan.decide(ranges, nodes, List.of(), Map.of(), true, DOWN_AFTER_MS, 2);
            if (d.moves().isEmpty()) {
                break;
            }
            // Node 4 takes part in every move, so at most two start at once.
            assertThat(d.moves()).hasSizeLessThanOrEqualTo(2);
            for (MoveRecord m : d.moves()) {
                assertThat(m.getToNodeId()).isEqualTo(4);
                apply(ranges, m);
            }
            assertThat(++rounds).isLessThan(100);
        }
        Map<Long, Integer> counts = counts(ranges);
        double mean = 64 * 3 / 4.0;
        for (int c : counts.values()) {
            assertThat((double) c).isBetween(mean * 0.9, mean * 1.1);
        }
    }

    @Test
    void aNodeDownBrieflyStopsRebalancingAndOneDownLongIsReReplicated() {
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(16, 1, 2, 3, 4));
        List<BalancePlan.Node> brief = List.of(up(1), up(2), up(3), new BalancePlan.Node(4, false, 60_000, false), up(5));
        assertThat(BalancePlan.decide(ranges, brief, List.of(), Map.of(), true, DOWN_AFTER_MS, 2).moves()).isEmpty();

        List<BalancePlan.Node> longDown = List.of(up(1), up(2), up(3), new BalancePlan.Node(4, false, 400_000, false),
                up(5));
        List<MoveRecord> moves = BalancePlan.decide(ranges, longDown, List.of(), Map.of(), true, DOWN_AFTER_MS, 2).moves();
        // Two at a time from the dead node, never onto a node that already holds the range.
        assertThat(moves).hasSize(2).allMatch(m -> m.getFromNodeId() == 4);
        for (MoveRecord m : moves) {
            RangeDescriptor r = ranges.get((int) m.getRangeId() - 1);
            assertThat(RouteTable.hasReplicaOn(r, m.getToNodeId())).isFalse();
        }
        assertThat(BalancePlan.decide(ranges, longDown, List.of(), Map.of(), false, DOWN_AFTER_MS, 2).moves()).isEmpty();
    }

    @Test
    void nothingIsEvenedOutWhileANodeRejoinsAndItTakesNoDrainedReplica() {
        // Node 3 lost its data directory and rejoins: five ranges have removed its old replica and
        // not yet added its new one. Counted as they stand, node 3 looks short of five replicas.
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(8, 1, 2, 3));
        for (int i = 0; i < 5; i++) {
            ranges.set(i, without(ranges.get(i), 3));
        }
        List<BalancePlan.Node> settled = List.of(up(1), up(2), up(3));
        assertThat(BalancePlan.decide(ranges, settled, List.of(), Map.of(), true, DOWN_AFTER_MS, 2).moves())
                .as("what the counts alone call for").isNotEmpty();

        List<BalancePlan.Node> rejoining = List.of(up(1), up(2), new BalancePlan.Node(3, true, 0, false, true));
        Map<Long, Long> leaders = Map.of(1L, 1L, 2L, 1L, 3L, 1L, 4L, 1L, 5L, 1L, 6L, 1L);
        BalancePlan.Decision d = BalancePlan.decide(ranges, rejoining, List.of(), leaders, true, DOWN_AFTER_MS, 2);
        assertThat(d.moves()).isEmpty();
        assertThat(d.transfers()).isEmpty();

        // A drain goes on, but not onto the rejoining node.
        List<RangeDescriptor> four = new ArrayList<>(Placement.initialRanges(8, 1, 2, 3, 4));
        List<BalancePlan.Node> draining = List.of(up(1), up(2), new BalancePlan.Node(3, true, 0, false, true),
                new BalancePlan.Node(4, true, 0, true));
        List<MoveRecord> drained = BalancePlan.decide(four, draining, List.of(), Map.of(), true, DOWN_AFTER_MS, 2).moves();
        assertThat(drained).isNotEmpty().allMatch(m -> m.getFromNodeId() == 4 && m.getToNodeId() != 3);
    }

    @Test
    void bytesAreEvenedOutWithinTenPercentKeepingReplicaCountsEven() {
        // Four of sixteen ranges hold 512 MiB each, all on nodes 1 to 3; the others 32 MiB.
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(16, 1, 2, 3, 4));
        Map<Long, BalancePlan.Weight> weights = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            boolean big = (r.getRangeId() - 1) % 4 == 0;
            weights.put(r.getRangeId(), new BalancePlan.Weight((big ? 512L : 32L) << 20, 0));
        }
        List<BalancePlan.Node> nodes = List.of(up(1), up(2), up(3), up(4));
        assertThat(spread(held(ranges, weights, w -> w.bytes()))).as("before").isGreaterThan(0.1);
        int rounds = 0;
        while (true) {
            BalancePlan.Decision d = decide(ranges, weights, nodes);
            if (d.moves().isEmpty()) {
                break;
            }
            d.moves().forEach(m -> apply(ranges, m));
            assertThat(spread(counts(ranges))).as("replica counts after round %d", rounds).isLessThanOrEqualTo(0.1);
            assertThat(++rounds).isLessThan(20);
        }
        assertThat(rounds).isPositive();
        assertThat(spread(held(ranges, weights, w -> w.bytes()))).as("bytes per node after %d rounds: %s", rounds,
                held(ranges, weights, w -> w.bytes())).isLessThanOrEqualTo(0.1);
    }

    @Test
    void writeLoadIsEvenedOutButSmallGapsAreLeftAlone() {
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(16, 1, 2, 3, 4));
        List<BalancePlan.Node> nodes = List.of(up(1), up(2), up(3), up(4));
        Map<Long, BalancePlan.Weight> quiet = new HashMap<>();
        Map<Long, BalancePlan.Weight> hot = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            boolean busy = (r.getRangeId() - 1) % 4 == 0;
            quiet.put(r.getRangeId(), new BalancePlan.Weight(1 << 20, busy ? 20 : 1));
            hot.put(r.getRangeId(), new BalancePlan.Weight(1 << 20, busy ? 2_000 : 100));
        }
        assertThat(decide(ranges, quiet, nodes).moves()).as("a gap under 100 writes/s").isEmpty();
        List<MoveRecord> moves = decide(ranges, hot, nodes).moves();
        assertThat(moves).isNotEmpty();
        assertThat(moves.get(0).getToNodeId()).isEqualTo(4);
        assertThat(moves.get(0).getReason()).contains("writes/s");
    }

    @Test
    void aDrainingNodeIsEmptiedEvenWithTheBalancerOff() {
        List<RangeDescriptor> ranges = new ArrayList<>(Placement.initialRanges(8, 1, 2, 3, 4));
        List<BalancePlan.Node> nodes = List.of(up(1), up(2), up(3), new BalancePlan.Node(4, true, 0, true));
        int rounds = 0;
        while (counts(ranges).getOrDefault(4L, 0) > 0) {
            List<MoveRecord> moves = BalancePlan.decide(ranges, nodes, List.of(), Map.of(), false, DOWN_AFTER_MS, 2).moves();
            assertThat(moves).isNotEmpty().allMatch(m -> m.getFromNodeId() == 4 && m.getToNodeId() != 4);
            moves.forEach(m -> apply(ranges, m));
            assertThat(++rounds).isLessThan(20);
        }
    }

    @Test
    void leadershipsMoveFromTheNodeLeadingMostToVotersLeadingFewest() {
        List<RangeDescriptor> ranges = Placement.initialRanges(12, 1, 2, 3);
        Map<Long, Long> leaders = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            leaders.put(r.getRangeId(), 1L);
        }
        List<BalancePlan.Transfer> transfers = BalancePlan.decide(ranges, List.of(up(1), up(2), up(3)), List.of(), leaders,
                true, DOWN_AFTER_MS, 2).transfers();
        assertThat(transfers).hasSize(BalancePlan.MAX_TRANSFERS).allMatch(t -> t.target() != 1);
        // Balanced already: nothing to do.
        leaders.clear();
        for (RangeDescriptor r : ranges) {
            leaders.put(r.getRangeId(), r.getReplicas((int) (r.getRangeId() % 3)).getNodeId());
        }
        assertThat(BalancePlan.decide(ranges, List.of(up(1), up(2), up(3)), List.of(), leaders, true, DOWN_AFTER_MS, 2)
                .transfers()).isEmpty();
    }

    private static BalancePlan.Decision decide(List<RangeDescriptor> ranges, Map<Long, BalancePlan.Weight> weights,
            List<BalancePlan.Node> nodes) {
        return BalancePlan.decide(ranges, weights, nodes, List.of(), Map.of(), java.util.Set.of(), true, DOWN_AFTER_MS, 2);
    }

    /** What each node's replicas weigh together. */
    private static Map<Long, Double> held(List<RangeDescriptor> ranges, Map<Long, BalancePlan.Weight> weights,
            java.util.function.ToDoubleFunction<BalancePlan.Weight> of) {
        Map<Long, Double> held = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            for (ReplicaDescriptor rep : r.getReplicasList()) {
                held.merge(rep.getNodeId(), of.applyAsDouble(weights.get(r.getRangeId())), Double::sum);
            }
        }
        return held;
    }

    /** How far the node furthest from the mean is from it, as a fraction of the mean. */
    private static double spread(Map<Long, ? extends Number> perNode) {
        double mean = perNode.values().stream().mapToDouble(Number::doubleValue).average().orElse(0);
        return perNode.values().stream().mapToDouble(v -> Math.abs(v.doubleValue() - mean) / mean).max().orElse(0);
    }

    private static BalancePlan.Node up(long id) {
        return new BalancePlan.Node(id, true, 0, false);
    }

    private static RangeDescriptor without(RangeDescriptor r, long node) {
        RangeDescriptor.Builder b = r.toBuilder().clearReplicas().setConfVersion(r.getConfVersion() + 1);
        r.getReplicasList().stream().filter(rep -> rep.getNodeId() != node).forEach(b::addReplicas);
        return b.build();
    }

    private static void apply(List<RangeDescriptor> ranges, MoveRecord m) {
        int i = (int) m.getRangeId() - 1;
        RangeDescriptor.Builder b = without(ranges.get(i), m.getFromNodeId()).toBuilder();
        b.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(m.getToNodeId()).setRole(ReplicaRole.VOTER));
        ranges.set(i, b.build());
    }

    private static Map<Long, Integer> counts(List<RangeDescriptor> ranges) {
        Map<Long, Integer> counts = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            for (ReplicaDescriptor rep : r.getReplicasList()) {
                counts.merge(rep.getNodeId(), 1, Integer::sum);
            }
        }
        return counts;
    }
}
