package io.flotilla.router;

import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.RangeDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

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
 *       at a time, and then <b>leader counts</b> by leadership transfers.</li>
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
        long fullest = 0;
        long emptiest = 0;
        for (long id : eligible) {
            if (free(id) && (fullest == 0 || replicas.get(id) > replicas.get(fullest))) {
                fullest = id;
            }
            if (free(id) && (emptiest == 0 || replicas.get(id) < replicas.get(emptiest))) {
                emptiest = id;
            }
        }
        if (fullest == 0 || fullest == emptiest) {
            return false;
        }
        int max = replicas.get(fullest);
        int min = replicas.get(emptiest);
        boolean uneven = max > mean * (1 + TOLERANCE) || min < mean * (1 - TOLERANCE);
        if (max - min < 2 || !uneven) {
            return false;
        }
        for (RangeDescriptor range : ranges) {
            // The meta range moves off a draining or long-down node only: a move makes every client look it up again.
            if (RouteTable.hasReplicaOn(range, fullest) && !RouteTable.hasReplicaOn(range, emptiest)
                    && !MetaRange.isMeta(range) && !moving.contains(range.getRangeId()) && !refused.contains(new Target(range.getRangeId(), emptiest))) {
                start(range, fullest, emptiest, "balance: node " + fullest + " held " + max + " replicas, node "
                        + emptiest + " " + min + " (mean " + Math.round(mean) + ")");
                return true;
            }
        }
        return false;
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
