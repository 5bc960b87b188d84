package io.flotilla.router;

import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.RangeDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IntSummaryStatistics;
import java.util.Locale;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.DoubleFunction;
import java.util.function.ToDoubleFunction;

/**
 * What the balancer does next, decided from a picture of the cluster: which replicas to move and
 * which leaderships to hand over. In order of need:
 * <ol>
 *   <li><b>re-replication</b>: the replicas of a node down for longer than {@code downAfterMs} are
 *       made again on other nodes (a move from the down node: the new replica is filled by the
 *       range's live replicas, then the dead one is removed);</li>
 *   <li><b>drains</b>: every replica on a draining node ({@code flotilla decommission}) moves off it;</li>
 *   <li>then, only while every node is up, none rejoining, and the balancer is on, <b>replica counts</b> are evened
 *       out to within {@link #TOLERANCE} of the mean, one move from the fullest node to the emptiest
 *       at a time; then, with no move in progress, the <b>bytes</b> and then the <b>write load</b>
 *       (writes per second) the nodes' replicas hold, one move at a time and only while the replica
 *       counts stay even; and then <b>leader counts</b> by leadership transfers.</li>
 * </ol>
 * A node takes part in at most {@code maxMovesPerNode} moves at once (as source or target), so a
 * failure never piles snapshots onto the survivors, and a range moves at most once at a time. A
 * target never holds the range already; a target that refused the range (its worker full) is not
 * asked again for it. Pure; any thread.
 */
public final class BalancePlan {
    /** How far from the mean a node's replica or leader count may be before the balancer acts. */
    public static final double TOLERANCE = 0.10;
    /** Leadership transfers started per decision at most. */
    static final int MAX_TRANSFERS = 4;

    /**
     * A node as the balancer sees it. A {@code rejoining} node (it lost its data directory and
     * replaces its old replicas, each range lacking it for a moment) is no target, and no
     * replica counts are evened out until it is done: they would count it short.
     */
    public record Node(long id, boolean up, long downForMs, boolean draining, boolean rejoining) {
        /** A node that is not rejoining. */
        public Node(long id, boolean up, long downForMs, boolean draining) {
            this(id, up, downForMs, draining, false);
        }
    }

    /** A leadership to hand over: range {@code rangeId}'s, to node {@code target}. */
    public record Transfer(long rangeId, long target) {
    }

    /** Range {@code rangeId} on node {@code nodeId}: a target a move of the range failed to reach. */
    public record Target(long rangeId, long nodeId) {
    }

    /** The moves to start and the leaderships to hand over. */
    public record Decision(List<MoveRecord> moves, List<Transfer> transfers) {
    }

    /** What a range weighs on each node holding a replica: its bytes and its writes per second (its leader's figures). */
    public record Weight(long bytes, double writesPerSecond) {
    }

    /** Byte and write-load gaps between nodes smaller than these are left alone: a move costs more than they do. */
    static final double MIN_BYTES_GAP = 64 << 20;
    static final double MIN_WRITES_GAP = 100;

    private final List<RangeDescriptor> ranges;
    private final Map<Long, Node> nodes = new TreeMap<>();
    private final Map<Long, Integer> busy = new HashMap<>();
    private final Set<Long> moving;
    private final Map<Long, Integer> replicas = new HashMap<>();
    private final int maxMovesPerNode;
    private final List<MoveRecord> moves = new ArrayList<>();
    private final Set<Target> refused;

    private BalancePlan(List<RangeDescriptor> ranges, Collection<Node> nodes, Collection<MoveRecord> inProgress,
            Set<Long> moving, int maxMovesPerNode, Set<Target> refused) {
        this.ranges = ranges;
        this.refused = refused;
        for (Node n : nodes) {
            this.nodes.put(n.id(), n);
            replicas.put(n.id(), 0);
        }
        for (RangeDescriptor range : ranges) {
            for (int i = 0; i < range.getReplicasCount(); i++) {
                replicas.merge(range.getReplicas(i).getNodeId(), 1, Integer::sum);
            }
        }
        for (MoveRecord m : inProgress) {
            // Counted as if done: the balancer must not start another move to make up for it.
            busy.merge(m.getFromNodeId(), 1, Integer::sum);
            busy.merge(m.getToNodeId(), 1, Integer::sum);
            replicas.merge(m.getFromNodeId(), -1, Integer::sum);
            replicas.merge(m.getToNodeId(), 1, Integer::sum);
        }
        this.moving = moving;
        this.maxMovesPerNode = maxMovesPerNode;
    }

    /**
     * Decides. {@code ranges}: every range as the meta range records it; {@code inProgress}: the
     * moves recorded; {@code leaders}: each range's leader as last reported (missing: unknown).
     */
    public static Decision decide(List<RangeDescriptor> ranges, Collection<Node> nodes, Collection<MoveRecord> inProgress,
            Map<Long, Long> leaders, boolean balancerOn, long downAfterMs, int maxMovesPerNode) {
        return decide(ranges, nodes, inProgress, leaders, Set.of(), balancerOn, downAfterMs, maxMovesPerNode);
    }

    /** As above, never moving a range to a node {@code refused} pairs with it (a move there failed). */
    public static Decision decide(List<RangeDescriptor> ranges, Collection<Node> nodes, Collection<MoveRecord> inProgress,
            Map<Long, Long> leaders, Set<Target> refused, boolean balancerOn, long downAfterMs, int maxMovesPerNode) {
        return decide(ranges, Map.of(), nodes, inProgress, leaders, refused, balancerOn, downAfterMs, maxMovesPerNode);
    }

    /** As above, evening out also what the ranges weigh ({@code weights}, by range id; missing: nothing). */
    public static Decision decide(List<RangeDescriptor> ranges, Map<Long, Weight> weights, Collection<Node> nodes,
            Collection<MoveRecord> inProgress, Map<Long, Long> leaders, Set<Target> refused, boolean balancerOn,
            long downAfterMs, int maxMovesPerNode) {
        Set<Long> moving = new java.util.HashSet<>();
        for (MoveRecord m : inProgress) {
            moving.add(m.getRangeId());
        }
        BalancePlan plan = new BalancePlan(ranges, nodes, inProgress, moving, maxMovesPerNode, refused);
        boolean allUp = true;
        for (Node n : nodes) {
            allUp &= n.up() && !n.rejoining();
            if (balancerOn && !n.up() && n.downForMs() >= downAfterMs) {
                plan.moveAllOff(n.id(), "re-replication: node " + n.id() + " down for " + n.downForMs() / 1000 + " s");
            }
        }
        for (Node n : nodes) {
            if (n.draining()) {
                plan.moveAllOff(n.id(), "decommission of node " + n.id());
            }
        }
        if (!balancerOn || !allUp || !plan.moves.isEmpty()) {
            return new Decision(plan.moves, List.of());
        }
        while (plan.evenReplicas()) {
            // as many moves as the nodes' move slots allow
        }
        if (!plan.moves.isEmpty() || !inProgress.isEmpty()) {
            return new Decision(plan.moves, List.of());
        }
        // One such move at a time, cluster-wide: weights change as the moves end.
        if (plan.evenWeight(weights, Weight::bytes, MIN_BYTES_GAP, b -> whole(b / (1 << 20)) + " MiB")
                || plan.evenWeight(weights, Weight::writesPerSecond, MIN_WRITES_GAP, w -> whole(w) + " writes/s")) {
            return new Decision(plan.moves, List.of());
        }
        return new Decision(plan.moves, plan.evenLeaders(leaders));
    }

    private void moveAllOff(long from, String reason) {
        for (RangeDescriptor range : ranges) {
            if (RouteTable.hasReplicaOn(range, from) && !moving.contains(range.getRangeId()) && free(from)) {
                long to = emptiestTarget(range);
                if (to != 0) {
                    start(range, from, to, reason);
                }
            }
        }
    }

    /**
     * One move from the fullest node to the emptiest (among those with a move slot free), if the
     * counts are further from the mean than the tolerance allows; false if none was started.
     */
    private boolean evenReplicas() {
        List<Long> eligible = eligibleNodes();
        if (eligible.size() < 2) {
            return false;
        }
        long total = 0;
        for (long id : eligible) {
            total += replicas.get(id);
        }
        double mean = (double) total / eligible.size();
        long[] extremes = extremes(eligible, replicas);
        long fullest = extremes[0];
        long emptiest = extremes[1];
        if (fullest == 0 || fullest == emptiest) {
            return false;
        }
        int max = replicas.get(fullest);
        int min = replicas.get(emptiest);
        if (max - min < 2 || !uneven(max, min, mean)) {
            return false;
        }
        for (RangeDescriptor range : ranges) {
            if (movable(range, fullest, emptiest)) {
                start(range, fullest, emptiest, "balance: node " + fullest + " held " + max + " replicas, node "
                        + emptiest + " " + min + " (mean " + Math.round(mean) + ")");
                return true;
            }
        }
        return false;
    }

    /**
     * Whether evening out may move {@code range} from {@code from} to {@code to}. The meta range moves
     * off a draining or long-down node only: a move makes every client look it up again.
     */
    private boolean movable(RangeDescriptor range, long from, long to) {
        return RouteTable.hasReplicaOn(range, from) && !RouteTable.hasReplicaOn(range, to) && !MetaRange.isMeta(range)
                && !moving.contains(range.getRangeId()) && !refused.contains(new Target(range.getRangeId(), to));
    }

    /**
     * Evens out what the nodes' replicas weigh ({@code of}: bytes, or writes per second), if the
     * heaviest and lightest nodes are further from the mean than the tolerance allows and further
     * apart than {@code minGap}: moves a range from the heaviest node to the lightest, and, where
     * that alone would leave the replica counts uneven, a lighter range back (a swap). Any shift
     * of weight between nothing and the whole gap narrows the gap between the two; the one closest
     * to half of it is taken. False if none was started.
     */
    private boolean evenWeight(Map<Long, Weight> weights, ToDoubleFunction<Weight> of, double minGap,
            DoubleFunction<String> show) {
        List<Long> eligible = eligibleNodes();
        if (eligible.size() < 2 || weights.isEmpty()) {
            return false;
        }
        Map<Long, Double> held = new HashMap<>();
        eligible.forEach(id -> held.put(id, 0.0));
        for (RangeDescriptor range : ranges) {
            Weight w = weights.get(range.getRangeId());
            for (int i = 0; w != null && i < range.getReplicasCount(); i++) {
                held.computeIfPresent(range.getReplicas(i).getNodeId(), (id, sum) -> sum + of.applyAsDouble(w));
            }
        }
        double mean = held.values().stream().mapToDouble(Double::doubleValue).sum() / eligible.size();
        long[] extremes = extremes(eligible, held);
        long heaviest = extremes[0];
        long lightest = extremes[1];
        if (heaviest == 0 || heaviest == lightest) {
            return false;
        }
        double max = held.get(heaviest);
        double min = held.get(lightest);
        if (!uneven(max, min, mean) || max - min < minGap) {
            return false;
        }
        // Ranges that may go back from the lightest node, lightest first, for swaps.
        List<RangeDescriptor> back = new ArrayList<>();
        for (RangeDescriptor range : ranges) {
            if (movable(range, lightest, heaviest)) {
                back.add(range);
            }
        }
        ToDoubleFunction<RangeDescriptor> weigh = r -> {
            Weight w = weights.get(r.getRangeId());
            return w == null ? 0 : of.applyAsDouble(w);
        };
        back.sort(Comparator.comparingDouble(weigh));
        double[] backWeights = back.stream().mapToDouble(weigh).toArray();
        boolean alone = countsStayEven(heaviest, lightest);
        double gap = max - min;
        RangeDescriptor bestOut = null;
        RangeDescriptor bestBack = null;
        double bestMiss = gap / 2; // how far the best shift is from half the gap
        for (RangeDescriptor range : ranges) {
            if (!movable(range, heaviest, lightest)) {
                continue;
            }
            double out = weigh.applyAsDouble(range);
            if (alone && out > 0 && out < gap && Math.abs(gap / 2 - out) < bestMiss) {
                bestOut = range;
                bestBack = null;
                bestMiss = Math.abs(gap / 2 - out);
            }
            // The ranges going back whose weight is nearest out - gap / 2 make the shift nearest half the gap.
            int i = lowerBound(backWeights, out - gap / 2);
            for (int j = Math.max(0, i - 1); j <= Math.min(back.size() - 1, i); j++) {
                double shift = out - backWeights[j];
                if (shift > 0 && shift < gap && Math.abs(gap / 2 - shift) < bestMiss) {
                    bestOut = range;
                    bestBack = back.get(j);
                    bestMiss = Math.abs(gap / 2 - shift);
                }
            }
        }
        if (bestOut == null) {
            return false;
        }
        String reason = "balance: node " + heaviest + " held " + show.apply(max) + ", node " + lightest + " "
                + show.apply(min) + " (mean " + show.apply(mean) + ")";
        start(bestOut, heaviest, lightest, reason);
        if (bestBack != null) {
            start(bestBack, lightest, heaviest, reason + "; this range goes the other way to keep replica counts even");
        }
        return true;
    }

    /** The first index of {@code sorted} holding {@code x} or more ({@code sorted.length} if none does). */
    private static int lowerBound(double[] sorted, double x) {
        int i = Arrays.binarySearch(sorted, x);
        if (i < 0) {
            return -i - 1;
        }
        while (i > 0 && sorted[i - 1] == x) {
            i--;
        }
        return i;
    }

    /** Of {@code eligible}, the nodes with a move slot free that hold the most and the least of {@code held}; 0s if none. */
    private long[] extremes(List<Long> eligible, Map<Long, ? extends Number> held) {
        long most = 0;
        long least = 0;
        for (long id : eligible) {
            if (!free(id)) {
                continue;
            }
            double v = held.get(id).doubleValue();
            if (most == 0 || v > held.get(most).doubleValue()) {
                most = id;
            }
            if (least == 0 || v < held.get(least).doubleValue()) {
                least = id;
            }
        }
        return new long[] {most, least};
    }

    /** Whether the most or the least a node holds is further from {@code mean} than {@link #TOLERANCE} allows. */
    private static boolean uneven(double max, double min, double mean) {
        return max > mean * (1 + TOLERANCE) || min < mean * (1 - TOLERANCE);
    }

    /** Whether a move from {@code from} to {@code to} leaves the replica counts as even as {@link #evenReplicas} wants them. */
    private boolean countsStayEven(long from, long to) {
        IntSummaryStatistics counts = new IntSummaryStatistics();
        for (long id : eligibleNodes()) {
            counts.accept(replicas.get(id) + (id == from ? -1 : 0) + (id == to ? 1 : 0));
        }
        double mean = counts.getAverage();
        return counts.getMax() - counts.getMin() < 2
                || !uneven(counts.getMax(), counts.getMin(), mean);
    }

    private static String whole(double x) {
        return String.format(Locale.ROOT, "%,.0f", x);
    }

    /** Leaderships handed from the nodes leading the most ranges to voters leading the fewest. */
    private List<Transfer> evenLeaders(Map<Long, Long> leaders) {
        List<Long> eligible = eligibleNodes();
        List<Transfer> transfers = new ArrayList<>();
        if (eligible.size() < 2 || leaders.isEmpty()) {
            return transfers;
        }
        Map<Long, Integer> led = new HashMap<>();
        for (long id : eligible) {
            led.put(id, 0);
        }
        for (long leader : leaders.values()) {
            led.computeIfPresent(leader, (k, v) -> v + 1);
        }
        double mean = (double) leaders.size() / eligible.size();
        for (RangeDescriptor range : ranges) {
            if (transfers.size() >= MAX_TRANSFERS) {
                break;
            }
            Long leader = leaders.get(range.getRangeId());
            if (leader == null || !led.containsKey(leader) || led.get(leader) <= mean * (1 + TOLERANCE)) {
                continue;
            }
            long best = 0;
            for (int i = 0; i < range.getReplicasCount(); i++) {
                long voter = range.getReplicas(i).getNodeId();
                if (led.containsKey(voter) && led.get(voter) < mean * (1 - TOLERANCE) + 1
                        && (best == 0 || led.get(voter) < led.get(best))) {
                    best = voter;
                }
            }
            if (best != 0 && led.get(leader) - led.get(best) >= 2) {
                transfers.add(new Transfer(range.getRangeId(), best));
                led.merge(leader, -1, Integer::sum);
                led.merge(best, 1, Integer::sum);
            }
        }
        return transfers;
    }

    /** Up, not draining. */
    private List<Long> eligibleNodes() {
        List<Long> eligible = new ArrayList<>();
        for (Node n : nodes.values()) {
            if (n.up() && !n.draining() && !n.rejoining()) {
                eligible.add(n.id());
            }
        }
        return eligible;
    }

    /** The up, non-draining node without a replica of {@code range} holding the fewest replicas, with a move slot free; 0 if none. */
    private long emptiestTarget(RangeDescriptor range) {
        long best = 0;
        for (long id : eligibleNodes()) {
            if (!RouteTable.hasReplicaOn(range, id) && free(id) && !refused.contains(new Target(range.getRangeId(), id))
                    && (best == 0 || replicas.get(id) < replicas.get(best))) {
                best = id;
            }
        }
        return best;
    }

    private boolean free(long node) {
        return busy.getOrDefault(node, 0) < maxMovesPerNode;
    }

    private void start(RangeDescriptor range, long from, long to, String reason) {
        moves.add(MoveRecord.newBuilder().setRangeId(range.getRangeId()).setFromNodeId(from).setToNodeId(to)
                .setReason(reason).build());
        moving.add(range.getRangeId());
        busy.merge(from, 1, Integer::sum);
        busy.merge(to, 1, Integer::sum);
        replicas.merge(from, -1, Integer::sum);
        replicas.merge(to, 1, Integer::sum);
    }
}
