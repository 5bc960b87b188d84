package io.flotilla.engine.node;

import io.flotilla.client.FlotillaClient;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.service.ClusterDirectory;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.MoveProgress;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.NodePlacement;
import io.flotilla.kv.proto.NodeStatusResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeStatus;
import io.flotilla.router.BalancePlan;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The balancer, on the meta range's leader: once a {@link #ROUND_MS}, asks every node for its
 * status (a node that does not answer is down from that moment; one that does tells which ranges
 * it leads, and what they weigh: {@link RangeWeights}), and starts the moves and leadership
 * transfers {@link BalancePlan} decides from the ranges the meta range records, their weights, the
 * moves in progress, the nodes' states and the cluster's settings (draining nodes, the balancer's switch, how long a node may be down). Moves are started
 * like any other ({@code MoveReplica} to the meta range), so they are recorded and driven by
 * {@link MoveDriver}. Called on the move driver's thread; statuses arrive on the client's.
 */
final class Balancer {
    private static final Logger LOG = LoggerFactory.getLogger(Balancer.class);
    static final long ROUND_MS = 1_000;
    static final long DEFAULT_DOWN_AFTER_MS = 300_000;
    static final int MOVES_PER_NODE = 2;
    /** Rounds after a leadership transfer before leaderships are evened out again. */
    static final int LEADERS_SETTLE_ROUNDS = 3;
    /** A move asked for and never answered is asked for again after this long. */
    static final long STARTING_EXPIRY_MS = 10_000;

    private final long nodeId;
    private final KvStateMachine stateMachine;
    private final FlotillaClient client;
    private final ClusterDirectory directory;
    private final LongSupplier clockMs;
    /** Per node: when it last answered (0: never), and since when it has not (0: it answers). */
    private final Map<Long, long[]> seen = new ConcurrentHashMap<>();
    /** Nodes that said they are rejoining (see {@link BalancePlan.Node}). */
    private final Set<Long> rejoining = ConcurrentHashMap.newKeySet();
    /** What the ranges weigh, from their leaders' reports. */
    private final RangeWeights weights = new RangeWeights();
    /** Per node: the ranges it said it leads. */
    private final Map<Long, Set<Long>> led = new ConcurrentHashMap<>();
    /** Ranges whose move this balancer has asked for and not had answered yet, with when it asked. */
    private final Map<Long, Long> starting = new ConcurrentHashMap<>();
    private volatile List<NodePlacement> placements = List.of();
    private long lastRoundMs;
    /**
     * No leaderships are evened out before this: the statuses that show the last transfers arrive a
     * round or two later, and read before that they count a moved leadership twice or not at all
     * (the balancer handed range 1's leadership to node 3, then to node 2, a second apart).
     */
    private long leadersSettledAtMs;

    Balancer(long nodeId, KvStateMachine stateMachine, FlotillaClient client, ClusterDirectory directory,
            LongSupplier clockMs) {
        this.nodeId = nodeId;
        this.stateMachine = stateMachine;
        this.client = client;
        this.directory = directory;
        this.clockMs = clockMs;
    }

    /** The nodes as the last round saw them. Any thread. */
    List<NodePlacement> placements() {
        return placements;
    }

    /** A round, if one is due; {@code inProgress}: the moves recorded; {@code ended}: the last that ended. */
    void maybeRound(List<MoveRecord> inProgress, List<MoveProgress> ended) {
        long now = clockMs.getAsLong();
        if (now - lastRoundMs < ROUND_MS) {
            return;
        }
        lastRoundMs = now;
        askStatuses(now);
        List<RangeDescriptor> ranges = new ArrayList<>(stateMachine.recordedRanges());
        RangeDescriptor meta = stateMachine.descriptor(MetaRange.ID);
        if (meta != null) {
            ranges.add(meta); // drained and re-replicated like the others (not among the ones it records)
        }
        ClusterSettings settings = stateMachine.recordedSettings();
        long downAfterMs = settings.getDownAfterMs() > 0 ? settings.getDownAfterMs() : DEFAULT_DOWN_AFTER_MS;
        Set<Long> draining = new HashSet<>(settings.getDrainingNodeIdsList());
        Map<Long, BalancePlan.Weight> rangeWeights = weights.weights(now);
        List<BalancePlan.Node> nodes = new ArrayList<>();
        List<NodePlacement> seenNow = new ArrayList<>();
        for (long id : directory.nodeIds()) {
            long[] s = seen.getOrDefault(id, new long[] {0, 0});
            // Up until a status poll fails: a node starting with the balancer is given the benefit of the doubt.
            boolean up = s[1] == 0;
            long downFor = up ? 0 : now - s[1];
            nodes.add(new BalancePlan.Node(id, up, downFor, draining.contains(id), rejoining.contains(id)));
            seenNow.add(placement(id, ranges, rangeWeights).setUp(up).setDownForMs(downFor)
                    .setDraining(draining.contains(id)).setLeaders(led.getOrDefault(id, Set.of()).size()).build());
        }
        placements = seenNow;
        Map<Long, Long> leaders = new HashMap<>();
        if (now >= leadersSettledAtMs) {
            led.forEach((node, rangeIds) -> rangeIds.forEach(r -> leaders.put(r, node)));
        }
        Set<BalancePlan.Target> refused = new HashSet<>();
        for (MoveProgress p : ended) {
            if (p.getStep() == MoveStep.MOVE_FAILED) {
                refused.add(new BalancePlan.Target(p.getMove().getRangeId(), p.getMove().getToNodeId()));
            }
        }
        for (MoveRecord m : inProgress) {
            starting.remove(m.getRangeId());
        }
        // An entry goes when its request is answered (see start): a small range's move can start
        // and end between two rounds, never seen in progress, and an entry kept for it barred the
        // range from every later move (a drain after an add-node stopped with replicas left on the
        // node). A request never answered is asked again after a while.
        starting.values().removeIf(askedAt -> now - askedAt > STARTING_EXPIRY_MS);
        BalancePlan.Decision decision = BalancePlan.decide(ranges, rangeWeights, nodes, inProgress, leaders, refused,
                !settings.getBalancerOff(), downAfterMs, MOVES_PER_NODE);
        Map<Long, RangeDescriptor> byId = new HashMap<>();
        ranges.forEach(r -> byId.put(r.getRangeId(), r));
        for (MoveRecord move : decision.moves()) {
            if (starting.putIfAbsent(move.getRangeId(), now) == null) {
                start(move);
            }
        }
        if (!decision.transfers().isEmpty()) {
            leadersSettledAtMs = now + LEADERS_SETTLE_ROUNDS * ROUND_MS;
        }
        for (BalancePlan.Transfer t : decision.transfers()) {
            RangeDescriptor range = byId.get(t.rangeId());
            if (range != null) {
                LOG.info("node {}: balancer hands the leadership of range {} to node {}", nodeId, t.rangeId(), t.target());
                client.transferLeader(range.getStartKey().toByteArray(), t.target()).whenComplete((ok, e) -> {
                    if (e != null) {
                        LOG.debug("node {}: leadership transfer of range {} failed", nodeId, t.rangeId(), e);
                    }
                });
            }
        }
    }

    private void start(MoveRecord move) {
        LOG.info("node {}: balancer moves range {} from node {} to node {} ({})", nodeId, move.getRangeId(),
                move.getFromNodeId(), move.getToNodeId(), move.getReason());
        client.moveReplica(move.getRangeId(), move.getFromNodeId(), move.getToNodeId(), move.getReason())
                .whenComplete((ok, e) -> {
                    // Answered: the move is recorded (this node leads the meta range, so its replica
                    // has applied the record) or was refused; the recorded moves say the rest.
                    starting.remove(move.getRangeId());
                    if (e != null) {
                        LOG.info("node {}: the balancer's move of range {} was not recorded: {}", nodeId,
                                move.getRangeId(), e.getCause() != null ? e.getCause().getMessage() : e.getMessage());
                    }
                });
    }

    private void askStatuses(long now) {
        for (long id : directory.nodeIds()) {
            NodeAddress a = directory.address(id);
            client.nodeStatus(a.getHost() + ":" + a.getClientPort()).whenComplete((status, e) -> {
                long[] s = seen.computeIfAbsent(id, k -> new long[] {0, 0});
                synchronized (s) {
                    if (e == null) {
                        s[0] = now;
                        s[1] = 0;
                        led.put(id, leading(status));
                        for (RangeStatus r : status.getRangeStatusList()) {
                            if (r.getLeader()) {
                                weights.observe(r.getRange().getRangeId(), r.getCommitIndex(), r.getApproximateBytes(), now);
                            }
                        }
                        if (status.getRejoining()) {
                            rejoining.add(id);
                        } else {
                            rejoining.remove(id);
                        }
                    } else if (s[1] == 0) {
                        s[1] = now;
                        led.remove(id);
                    }
                }
            });
        }
    }

    private static Set<Long> leading(NodeStatusResponse status) {
        Set<Long> ranges = new HashSet<>();
        for (RangeStatus r : status.getRangeStatusList()) {
            if (r.getLeader() && !MetaRange.isMeta(r.getRange())) {
                ranges.add(r.getRange().getRangeId());
            }
        }
        return ranges;
    }

    /** Node {@code node}'s replicas, and what they weigh together. */
    private static NodePlacement.Builder placement(long node, List<RangeDescriptor> ranges,
            Map<Long, BalancePlan.Weight> weights) {
        int replicas = 0;
        long bytes = 0;
        double writes = 0;
        for (RangeDescriptor r : ranges) {
            if (RouteTable.hasReplicaOn(r, node)) {
                replicas++;
                BalancePlan.Weight w = weights.get(r.getRangeId());
                if (w != null) {
                    bytes += w.bytes();
                    writes += w.writesPerSecond();
                }
            }
        }
        return NodePlacement.newBuilder().setNodeId(node).setReplicas(replicas).setBytes(bytes).setWritesPerSecond(writes);
    }
}
