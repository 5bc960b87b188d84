package io.flotilla.multiraft;

import io.flotilla.engine.node.RemovedReplicas;
import io.flotilla.engine.service.MoveLeaderStep;
import io.flotilla.engine.service.MovePlan;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import io.flotilla.multiraft.RuntimeSimChecker.Kind;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.RaftNode;
import io.flotilla.router.BalancePlan;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;

/**
 * Replica moves in the key-value runtime simulation, driven as the node's move driver drives them
 * but on the simulation's clock. Now and then a range gets a move from one of its voters to a node
 * without a replica of it, one that held it before included (the run's spare nodes give every seed
 * targets). Every driver round (100 ms, as {@code MoveDriver.ROUND_MS}) each move takes one
 * request: first the target starts its empty replica ({@code createGroup} with no voters, or
 * {@code rejoinGroup} where it held the range before, as {@code MoveService.host}, which also
 * waits while an old replica there is not dropped yet; kept across its restarts, as
 * {@code JoiningReplicas}), then the range's current leader decides and takes the next
 * step with the real {@link MoveLeaderStep} ({@link MovePlan}: learner, catch up, promote, hand off
 * leadership, remove) until the plan says done or failed. While a move runs, the operator and the
 * nemeses that change membership leave its range alone ({@link KvRuntimeSimApplication#holdsMembership});
 * crashes, partitions, transfers, snapshots and splits go on. Each node runs the real
 * {@link RemovedReplicas} once an election timeout with the newest descriptors standing in for the
 * meta range's record, so a removed replica, which usually never applies its own removal, is dropped.
 *
 * <p>Checked: from the membership changes of a move's range as they first apply, the range never
 * has fewer voters than the move started with, unless a change the move did not make applied too;
 * a learner is promoted only when its log is within {@link MovePlan#CATCH_UP_ENTRIES} of the
 * leader's commit; a move ends with exactly its start's voters less the source plus the target, and
 * fails only when another change came in between; replicas that hold a range's descriptor at one
 * epoch and conf version list the same replicas; every move started ends by the end of the run; at
 * the end every target still listed holds the range's state (the run's other checks cover what
 * that state is), and no live node holds a range that a newer descriptor no longer lists it in.
 *
 * <p>Decommission: in half the seeds one node is drained from a seeded time on: every few driver
 * rounds the real {@link BalancePlan#decide} (balancer off, so only the drain) picks moves off it,
 * given the newest descriptors and the moves under way; the same machinery drives them. Owned by the seed's thread.
 */
final class KvRuntimeSimMoves {
    static final long ROUND_NS = 100_000_000L;
    private static final long MIN_GAP_NS = 250_000_000L;
    private static final long GAP_SPREAD_NS = 600_000_000L;
    private static final int MAX_MOVES_AT_ONCE = 2;
    /** A step's request unanswered this long is asked again (its node's answer was lost, as a client's times out). */
    private static final int STEP_TIMEOUT_ELECTION_TIMEOUTS = 10;

    /** One move as the simulation drives it. */
    private static final class Move {
        final long number;
        final long rangeId;
        /** The range's descriptor as the move started (what MoveService.host gets). */
        final RangeDescriptor atStart;
        final long from;
        final long to;
        final String why;
        final Set<Long> votersAtStart;
        /** The range's membership as the changes applied since the move started made it. */
        final Set<Long> voters;
        final Set<Long> learners;
        final List<ConfChange> proposed = new ArrayList<>();
        boolean hosted;
        int inFlight;
        long inFlightNode;
        int inFlightIncarnation;
        long inFlightSinceNs;
        int requests;
        /** A membership change this move did not propose applied while it ran. */
        String interference;
        MoveStep last;
        String lastMessage;
        /** The index at which the move's last change (the source's removal) applied. */
        long lastChangeIndex;

        Move(long number, RangeDescriptor atStart, long from, long to, String why, Set<Long> voters, Set<Long> learners) {
            this.atStart = atStart;
            long rangeId = atStart.getRangeId();
            this.number = number;
            this.rangeId = rangeId;
            this.from = from;
            this.to = to;
            this.why = why;
            this.votersAtStart = java.util.Collections.unmodifiableSet(new TreeSet<>(voters));
            this.voters = new TreeSet<>(voters);
            this.learners = new TreeSet<>(learners);
        }

        @Override
        public String toString() {
            return "move " + number + " of range " + rangeId + " from node " + from + " to node " + to + " (" + why + ")";
        }
    }

    private final RuntimeSimCluster cluster;
    private final KvRuntimeSimApplication app;
    private final SplittableRandom random;
    /** The decommission's own draws, so that the move nemesis's are what they are without it. */
    private final SplittableRandom drainRandom;
    /** The node being drained, 0 if none. */
    private long draining;
    private long nextMove = 1;
    /** Range id → its move under way. */
    private final Map<Long, Move> active = new LinkedHashMap<>();
    private final List<Move> done = new ArrayList<>();
    /** Range id → the highest index of a membership change any replica applied (so each is seen once, when first applied). */
    private final Map<Long, Long> confApplied = new HashMap<>();
    /** "range/epoch/conf version" → the replicas a descriptor of it lists, as first seen. */
    private final Map<String, String> membersAt = new HashMap<>();
    /** Per node: the real RemovedReplicas of its current runtime. */
    private final Map<Long, RemovedReplicas> removed = new HashMap<>();
    private final Map<Long, MultiRaftNode> removedRuntime = new HashMap<>();
    long started;
    long failed;
    long interfered;
    long transfers;
    long dropped;
    long drainMoves;
    /** Targets that held the range before and started a replica again (rejoinGroup). */
    long returns;
    /** Ranges the drained node is still listed in at the end (none once the drain finished). */
    long leftOnDrained;

    KvRuntimeSimMoves(RuntimeSimCluster cluster, KvRuntimeSimApplication app, SplittableRandom random) {
        this.cluster = cluster;
        this.app = app;
        this.random = random;
        this.drainRandom = random.split();
    }

    /** The node drained in this run, 0 if none. */
    long drained() {
        return draining;
    }

    /** Moves that ended done. */
    int completed() {
        return done.size();
    }

    /** Whether a move of {@code rangeId} is under way (the operator and membership nemeses leave it alone). */
    boolean holds(long rangeId) {
        return active.containsKey(rangeId);
    }

    void start() {
        cluster.scheduler().after(gapNs(), this::startOne);
        cluster.scheduler().after(ROUND_NS, this::driverRound);
        cluster.scheduler().after(cluster.config().electionTimeoutNs(), this::removedRound);
        if (drainRandom.nextBoolean()) {
            long runNs = cluster.config().runNs();
            cluster.scheduler().after(runNs / 10 + drainRandom.nextLong(runNs / 2), this::startDrain);
        }
    }

    private long now() {
        return cluster.scheduler().nowNs();
    }

    private long gapNs() {
        return MIN_GAP_NS + random.nextLong(GAP_SPREAD_NS);
    }

    /** Rounds go on through the quiet period and the final reads, as a node's do. */
    private boolean roundsGoOn() {
        RuntimeSimConfig config = cluster.config();
        return now() < config.runNs() + 40 * config.electionTimeoutNs();
    }

    // ---------------------------------------------------------------- starting moves

    private void startOne() {
        RuntimeSimConfig config = cluster.config();
        if (now() >= config.runNs()) {
            return;
        }
        cluster.scheduler().after(gapNs(), this::startOne);
        if (active.size() >= MAX_MOVES_AT_ONCE) {
            return;
        }
        List<RangeDescriptor> candidates = new ArrayList<>();
        for (RangeDescriptor d : newestById().values()) {
            if (movable(d)) {
                candidates.add(d);
            }
        }
        if (candidates.isEmpty()) {
            return;
        }
        RangeDescriptor range = candidates.get(random.nextInt(candidates.size()));
        long[] voters = KvRuntimeSimSplits.voters(range);
        long from = voters[random.nextInt(voters.length)];
        List<Long> targets = targets(range);
        if (targets.isEmpty()) {
            return;
        }
        begin(range, from, targets.get(random.nextInt(targets.size())), "nemesis");
    }

    /**
     * Whether a move of {@code range} may start: no move of it under way, no learner (a change
     * half done), a leader, no change of the operator's in flight and no replica the operator has
     * yet to remove; without snapshots, only a range of the run's start (a new replica of a range
     * split off cannot catch up from its log, which does not begin with the range's state).
     */
    private boolean movable(RangeDescriptor range) {
        long id = range.getRangeId();
        if (active.containsKey(id) || cluster.leaderOf(id) == null) {
            return false;
        }
        for (ReplicaDescriptor r : range.getReplicasList()) {
            if (r.getRole() != ReplicaRole.VOTER || cluster.node(r.getNodeId()).gone.contains(id)) {
                return false;
            }
        }
        RuntimeSimCluster.GroupState g = cluster.group(id);
        if (g != null && (g.adminCall != null || g.refill)) {
            return false;
        }
        return cluster.config().snapshots() || g != null;
    }

    /** Live nodes without a replica of {@code range} (a node that held it before too: it comes back), but the drained one. */
    private List<Long> targets(RangeDescriptor range) {
        List<Long> targets = new ArrayList<>();
        for (RuntimeSimNode n : cluster.nodes()) {
            // A node that held the range comes back only where snapshots run (rejoinGroup needs them).
            if (n.live() && n.id != draining && !RouteTable.hasReplicaOn(range, n.id)
                    && (cluster.config().snapshots() || !n.hosted.containsKey(range.getRangeId()))) {
                targets.add(n.id);
            }
        }
        return targets;
    }

    private void begin(RangeDescriptor range, long from, long to, String why) {
        Set<Long> voters = new TreeSet<>();
        Set<Long> learners = new TreeSet<>();
        for (ReplicaDescriptor r : range.getReplicasList()) {
            (r.getRole() == ReplicaRole.VOTER ? voters : learners).add(r.getNodeId());
        }
        Move m = new Move(nextMove++, range, from, to, why, voters, learners);
        active.put(m.rangeId, m);
        started++;
        cluster.trace(m + ": starts, range " + KvRuntimeSimSplits.describe(range) + " conf version " + range.getConfVersion()
                + " voters " + voters);
    }

    // ---------------------------------------------------------------- decommission

    /** Marks a node draining: one that holds a replica, leaving at least three nodes that do not drain. */
    private void startDrain() {
        List<Long> holders = new ArrayList<>();
        for (RangeDescriptor d : newestById().values()) {
            for (ReplicaDescriptor r : d.getReplicasList()) {
                if (!holders.contains(r.getNodeId())) {
                    holders.add(r.getNodeId());
                }
            }
        }
        if (holders.isEmpty() || cluster.nodes().length - 1 < 3) {
            return;
        }
        java.util.Collections.sort(holders);
        draining = holders.get(drainRandom.nextInt(holders.size()));
        cluster.trace("decommission: node " + draining + " drains");
        cluster.scheduler().after(ROUND_NS, this::drainRound);
    }

    /**
     * The balancer's round for the drain: the real {@link BalancePlan#decide}, balancer off (so it
     * plans only the drain), with every node up as far as it knows and the nodes that held a range
     * before refused as its targets; each move it plans that may start now starts.
     */
    private void drainRound() {
        if (now() >= cluster.config().runNs()) {
            return;
        }
        cluster.scheduler().after(3 * ROUND_NS, this::drainRound);
        List<RangeDescriptor> ranges = new ArrayList<>(newestById().values());
        List<BalancePlan.Node> nodes = new ArrayList<>();
        Set<BalancePlan.Target> refused = new java.util.HashSet<>();
        for (RuntimeSimNode n : cluster.nodes()) {
            nodes.add(new BalancePlan.Node(n.id, n.live(), 0, n.id == draining));
            for (RangeDescriptor d : ranges) {
                // Without snapshots a range does not come back to a node that held it (rejoinGroup needs them).
                if (!cluster.config().snapshots() && n.hosted.containsKey(d.getRangeId()) && !RouteTable.hasReplicaOn(d, n.id)) {
                    refused.add(new BalancePlan.Target(d.getRangeId(), n.id));
                }
            }
        }
        List<MoveRecord> inProgress = new ArrayList<>();
        for (Move m : active.values()) {
            inProgress.add(MoveRecord.newBuilder().setRangeId(m.rangeId).setFromNodeId(m.from).setToNodeId(m.to).build());
        }
        BalancePlan.Decision plan = BalancePlan.decide(ranges, nodes, inProgress, Map.of(), refused, false, Long.MAX_VALUE, 2);
        for (MoveRecord move : plan.moves()) {
            RangeDescriptor range = newestById().get(move.getRangeId());
            RuntimeSimNode target = cluster.node(move.getToNodeId());
            if (range != null && movable(range) && target.live() && !RouteTable.hasReplicaOn(range, target.id)
                    && (cluster.config().snapshots() || !target.hosted.containsKey(range.getRangeId()))) {
                drainMoves++;
                begin(range, move.getFromNodeId(), move.getToNodeId(), move.getReason());
            }
        }
    }

    // ---------------------------------------------------------------- driving them

    private void driverRound() {
        if (roundsGoOn()) {
            cluster.scheduler().after(ROUND_NS, this::driverRound);
        }
        for (Move m : new ArrayList<>(active.values())) {
            advance(m);
        }
    }

    private void advance(Move m) {
        if (m.inFlight != 0) {
            RuntimeSimNode via = cluster.node(m.inFlightNode);
            boolean waiting = via.live() && via.incarnation() == m.inFlightIncarnation
                    && now() - m.inFlightSinceNs < STEP_TIMEOUT_ELECTION_TIMEOUTS * cluster.config().electionTimeoutNs();
            if (waiting) {
                return;
            }
            m.inFlight = 0; // its node went away or the answer is long overdue: ask again, as the driver's client would
        }
        if (!m.hosted) {
            // HostReplica: the target starts its empty replica (and again after a restart, as JoiningReplicas).
            RuntimeSimNode target = cluster.node(m.to);
            if (!target.live()) {
                return;
            }
            if (target.node().groupView(m.rangeId) == null) {
                if (target.hosted.containsKey(m.rangeId)) {
                    // It held the range before: MoveService.host's rejoinGroup revives the replica.
                    cluster.trace(m + ": node " + m.to + " starts an empty replica again (it held the range before)");
                    target.rejoin(m.rangeId);
                    returns++;
                } else {
                    cluster.trace(m + ": node " + m.to + " starts an empty replica");
                    target.host(m.rangeId, new long[0]);
                }
                return; // the next round finds it started, as the host request's answer would
            }
            RangeDescriptor recorded = newestById().getOrDefault(m.rangeId, m.atStart);
            if (MovePlan.oldReplica(app.kv(target).descriptor(m.rangeId), m.to, recorded)) {
                // An old replica an earlier change removed, not dropped yet: MoveService.host drops it
                // and answers Busy; the next round hosts the new one.
                cluster.trace(m + ": node " + m.to + " drops its old replica of the range first");
                target.node().destroyReplica(m.rangeId);
                return;
            }
            m.hosted = true;
        }
        RuntimeSimNode leader = cluster.leaderOf(m.rangeId);
        GroupView view = leader == null ? null : leader.node().groupView(m.rangeId);
        if (view == null || !view.leading()) {
            return; // NotLeader: the driver's client looks the leader up and asks again next round
        }
        MovePlan.Decision decision = MoveLeaderStep.decide(view, leader.id, m.from, m.to);
        if (decision.step() != m.last) {
            cluster.trace(m + ": node " + leader.id + " says " + decision.step() + " (" + decision.message() + ")");
            m.last = decision.step();
        }
        m.lastMessage = "node " + leader.id + ": " + decision.message();
        if (decision.step() == MoveStep.MOVE_PROMOTING) {
            checkCaughtUp(m, view);
        }
        if (decision.step() == MoveStep.MOVE_DONE || decision.step() == MoveStep.MOVE_FAILED) {
            end(m, decision, leader, view);
            return;
        }
        if (decision.change() == null && decision.transferTo() == 0) {
            return; // catching up: ask again next round
        }
        int request = ++m.requests;
        if (decision.change() != null) {
            m.proposed.add(decision.change());
        } else {
            transfers++;
        }
        if (MoveLeaderStep.take(leader.node(), m.rangeId, decision, listener(m, leader, decision, request))) {
            m.inFlight = request;
            m.inFlightNode = leader.id;
            m.inFlightIncarnation = leader.incarnation();
            m.inFlightSinceNs = now();
        }
    }

    /** The listener of one step's request: a membership change of a group of the run's start is the operator's kind of call. */
    private ProposalListener listener(Move m, RuntimeSimNode via, MovePlan.Decision decision, int request) {
        RuntimeSimCluster.Then then = (answer, number, captured) -> {
            cluster.trace(m + ": " + decision.step() + " answered " + answer + (answer == RuntimeSimCluster.Answer.APPLIED
                    ? " at " + number : ""));
            if (m.inFlight == request) {
                m.inFlight = 0;
            }
        };
        RuntimeSimCluster.GroupState g = cluster.group(m.rangeId);
        if (decision.change() != null && g != null) {
            return cluster.membershipListener(g, via, decision.change(), then);
        }
        CallKind kind = decision.change() != null ? CallKind.CONF_CHANGE : CallKind.TRANSFER;
        Call call = cluster.checker().newCall(kind, via.id, via.incarnation(), m.rangeId, 0);
        return cluster.proposalListener(call, via.stateMachine(), false, then);
    }

    /**
     * The learner about to be promoted holds some of the range's log (it installed the range's
     * state), to within {@link MovePlan#CATCH_UP_ENTRIES} of the leader's commit.
     */
    private void checkCaughtUp(Move m, GroupView view) {
        RaftNode target = cluster.node(m.to).replica(m.rangeId);
        if (target != null && (target.lastIndex() == 0 || view.commitIndex() - target.lastIndex() > MovePlan.CATCH_UP_ENTRIES)) {
            cluster.checker().violation(Kind.MOVE_BROKEN, m + ": node " + m.to + " is promoted holding entries to "
                    + target.lastIndex() + " while the leader's commit is " + view.commitIndex() + " (the leader thinks it"
                    + " holds to " + view.learnerMatchIndex(m.to) + ")");
        }
    }

    private void end(Move m, MovePlan.Decision decision, RuntimeSimNode leader, GroupView view) {
        active.remove(m.rangeId);
        checkMembersAgree(m + " ended");
        if (decision.step() == MoveStep.MOVE_FAILED) {
            failed++;
            if (m.interference == null) {
                cluster.checker().violation(Kind.MOVE_BROKEN, m + " failed (" + decision.message() + ") though no change it"
                        + " did not make applied to the range's membership while it ran");
            }
            return;
        }
        done.add(m);
        if (m.interference != null) {
            interfered++;
            cluster.trace(m + ": done, with another change in between (" + m.interference + ")");
            return;
        }
        Set<Long> expected = new TreeSet<>(m.votersAtStart);
        expected.remove(m.from);
        expected.add(m.to);
        Set<Long> voters = new TreeSet<>();
        for (long v : view.membership().voters()) {
            voters.add(v);
        }
        if (!voters.equals(expected) || view.membership().learners().length > 0 || !m.voters.equals(expected)) {
            cluster.checker().violation(Kind.MOVE_BROKEN, m + " ended with voters " + voters + " and learners "
                    + java.util.Arrays.toString(view.membership().learners()) + " on its leader, node " + leader.id
                    + ", and voters " + m.voters + " by the changes applied; expected voters " + expected);
        }
        cluster.trace(m + ": done, voters " + voters);
    }

    // ---------------------------------------------------------------- what applies

    /**
     * A replica applied {@code entry} of {@code groupId}: a membership change applied for the first
     * time changes the membership of the range's move, which may never go below its start's voters
     * (unless another change came in between: then the move can only be checked for ending).
     */
    void applied(long node, long groupId, Entry entry) {
        if (entry.type() != EntryType.CONF_CHANGE || entry.index() <= confApplied.getOrDefault(groupId, 0L)) {
            return;
        }
        confApplied.put(groupId, entry.index());
        Move m = active.get(groupId);
        if (m == null) {
            return;
        }
        ConfChange change = ConfChange.decode(entry.data());
        if (!m.proposed.contains(change)) {
            if (m.interference == null) {
                m.interference = change + " at " + entry.index();
                cluster.trace(m + ": " + change + ", which it did not propose, applied at " + entry.index());
            }
            return;
        }
        switch (change.type()) {
            case ADD_LEARNER -> m.learners.add(change.nodeId());
            case PROMOTE_LEARNER -> {
                m.learners.remove(change.nodeId());
                m.voters.add(change.nodeId());
            }
            case REMOVE_NODE -> {
                m.voters.remove(change.nodeId());
                m.learners.remove(change.nodeId());
                m.lastChangeIndex = entry.index();
            }
            default -> m.voters.add(change.nodeId());
        }
        if (m.interference == null && m.voters.size() < m.votersAtStart.size()) {
            cluster.checker().violation(Kind.MOVE_BROKEN, m + ": " + change + " applied at " + entry.index() + " (first on node "
                    + node + ") leaves the range voters " + m.voters + ", fewer than the " + m.votersAtStart + " it started with");
        }
    }

    // ---------------------------------------------------------------- removed replicas

    /** Each live node runs a round of the real {@link RemovedReplicas} with the newest descriptors as the meta range's record. */
    private void removedRound() {
        if (roundsGoOn()) {
            cluster.scheduler().after(cluster.config().electionTimeoutNs(), this::removedRound);
        }
        Map<Long, RangeDescriptor> recorded = newestById();
        for (RuntimeSimNode n : cluster.nodes()) {
            if (!n.live() || n.stateMachine() == null) {
                continue;
            }
            for (long id : removedReplicas(n).round(recorded)) {
                dropped++;
                n.dropped.add(id);
                cluster.trace("node " + n.id + " drops its replica of range " + id + ", which no longer lists it (RemovedReplicas)");
            }
        }
    }

    private RemovedReplicas removedReplicas(RuntimeSimNode node) {
        MultiRaftNode runtime = node.node();
        if (removedRuntime.get(node.id) != runtime) {
            removed.put(node.id, new RemovedReplicas(node.id, runtime, app.kv(node)));
            removedRuntime.put(node.id, runtime);
        }
        return removed.get(node.id);
    }

    /** The newest descriptor (epoch, then conf version) of each range on any node, up or down (a down node's last state). */
    private Map<Long, RangeDescriptor> newestById() {
        Map<Long, RangeDescriptor> newest = new LinkedHashMap<>();
        for (RuntimeSimNode n : cluster.nodes()) {
            if (n.stateMachine() == null) {
                continue;
            }
            for (RangeDescriptor d : app.kv(n).ranges()) {
                if (!MetaRange.isMeta(d)) {
                    newest.merge(d.getRangeId(), d, (a, b) -> RouteTable.compareVersions(a, b) >= 0 ? a : b);
                }
            }
        }
        return newest;
    }

    // ---------------------------------------------------------------- checks

    /** Replicas that hold a descriptor of one range at one epoch and conf version list the same replicas in it. */
    private void checkMembersAgree(String when) {
        for (RuntimeSimNode n : cluster.nodes()) {
            if (n.stateMachine() == null) {
                continue;
            }
            for (RangeDescriptor d : app.kv(n).ranges()) {
                String at = d.getRangeId() + "/" + d.getEpoch() + "/" + d.getConfVersion();
                String members = members(d);
                String first = membersAt.putIfAbsent(at, members);
                if (first != null && !first.equals(members)) {
                    cluster.checker().violation(Kind.MEMBERS_DISAGREE, when + ": node " + n.id + " holds range " + d.getRangeId()
                            + " at epoch " + d.getEpoch() + " conf version " + d.getConfVersion() + " with replicas " + members
                            + ", another replica held it there with " + first);
                }
            }
        }
    }

    /** Each up node's replica of {@code rangeId}: role, term, log, commit, applied, membership. */
    private String describeReplicas(long rangeId) {
        StringBuilder b = new StringBuilder();
        for (RuntimeSimNode n : cluster.nodes()) {
            RaftNode r = n.replica(rangeId);
            if (r != null) {
                b.append(" n").append(n.id).append('=').append(r.role()).append('@').append(r.term()).append("(last ")
                        .append(r.lastIndex()).append('/').append(r.termAt(r.lastIndex())).append(", commit ")
                        .append(r.commitIndex()).append(", applied ").append(r.appliedIndex()).append(", conf ")
                        .append(r.confState()).append(')');
            }
        }
        return b.length() == 0 ? "none up" : b.toString().trim();
    }

    private static String members(RangeDescriptor d) {
        TreeSet<String> members = new TreeSet<>();
        for (ReplicaDescriptor r : d.getReplicasList()) {
            members.add(r.getNodeId() + (r.getRole() == ReplicaRole.VOTER ? "" : "L"));
        }
        return members.toString();
    }

    /**
     * At the end, every node up: every move started has ended; a target that the newest descriptor
     * still lists holds the range's state, applied past the move's last change; no live node holds a
     * range whose newest descriptor is newer and does not list it (RemovedReplicas dropped it).
     */
    void finalChecks() {
        checkMembersAgree("at the end");
        for (Move m : active.values()) {
            cluster.checker().violation(Kind.MOVE_BROKEN, m + " never ended (last step " + m.last + ", " + m.lastMessage
                    + ", " + m.requests + " requests); replicas: " + describeReplicas(m.rangeId));
        }
        Map<Long, RangeDescriptor> newest = newestById();
        for (Move m : done) {
            RangeDescriptor range = newest.get(m.rangeId);
            RuntimeSimNode target = cluster.node(m.to);
            if (range == null || !RouteTable.hasReplicaOn(range, m.to) || !target.live()) {
                continue;
            }
            RangeDescriptor held = app.kv(target).descriptor(m.rangeId);
            long applied = app.kv(target).appliedIndex(m.rangeId);
            if (held == null || applied < m.lastChangeIndex) {
                cluster.checker().violation(Kind.MOVE_BROKEN, m + ": node " + m.to + " is listed in range "
                        + KvRuntimeSimSplits.describe(range) + " but holds " + (held == null ? "none of its state"
                        : "its state only to index " + applied + ", before the move's last change at " + m.lastChangeIndex)
                        + "; replicas: " + describeReplicas(m.rangeId));
            }
        }
        if (draining != 0) {
            for (RangeDescriptor d : newest.values()) {
                if (RouteTable.hasReplicaOn(d, draining)) {
                    leftOnDrained++;
                }
            }
        }
        for (RuntimeSimNode n : cluster.nodes()) {
            if (!n.live()) {
                continue;
            }
            for (RangeDescriptor hosted : app.kv(n).ranges()) {
                RangeDescriptor latest = newest.get(hosted.getRangeId());
                if (latest != null && !MetaRange.isMeta(hosted) && !RouteTable.hasReplicaOn(latest, n.id)
                        && RouteTable.compareVersions(latest, hosted) > 0) {
                    cluster.checker().violation(Kind.REMOVED_REPLICA_KEPT, "node " + n.id + " still holds range "
                            + hosted.getRangeId() + " at conf version " + hosted.getConfVersion() + " (group "
                            + (n.node().groupView(hosted.getRangeId()) == null ? "gone" : "running") + "), which lists "
                            + members(latest) + " at conf version " + latest.getConfVersion());
                }
            }
        }
    }
}
