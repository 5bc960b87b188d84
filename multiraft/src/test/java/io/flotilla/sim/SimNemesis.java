package io.flotilla.sim;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.ProposeResult;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Injects faults while a run is active — partitions (symmetric, one-way, isolating a leader), crashes
 * (one node, a majority, all; and targeted ones: a voter right after it grants a vote, every node
 * right after a leader applies a write), loss and duplication bursts, delay spikes, slow disks,
 * membership changes and leader transfers. Temporary faults undo themselves after a while, and
 * every few seconds the nemesis rests: it undoes everything and lets the cluster recover before the
 * next span of faults. Membership changes go through the leader and keep every group at 3 to 5
 * voters. Owned by the single thread that runs the seed.
 */
final class SimNemesis {
    /** The faults, with their weight in each {@link SimConfig.FaultProfile} (same order as its constants). */
    enum Fault {
        PARTITION(12, 4, 20, 6),
        ONE_WAY_PARTITION(10, 3, 18, 4),
        ISOLATE_LEADER(10, 4, 16, 8),
        HEAL(4, 2, 6, 2),
        CRASH(12, 30, 4, 8),
        CRASH_MAJORITY(5, 14, 2, 3),
        CRASH_ALL(4, 12, 1, 2),
        LOSS_BURST(8, 2, 14, 3),
        DELAY_SPIKE(8, 3, 14, 3),
        DISK_STALL(8, 16, 2, 3),
        CRASH_AFTER_VOTE(4, 12, 1, 2),
        CRASH_ALL_AFTER_APPLY(3, 10, 1, 2),
        MEMBERSHIP(16, 6, 4, 36),
        TRANSFER_LEADER(10, 4, 4, 22);

        private final int[] weights;

        Fault(int... weights) {
            this.weights = weights;
        }

        int weight(SimConfig.FaultProfile profile) {
            return weights[profile.ordinal()];
        }
    }

    private static final long MS = SimConfig.MS;
    private static final int CONF_CHANGE_TRIES = 20;

    private final SimCluster cluster;
    private final SplittableRandom random;
    private final int nodeCount;
    private final SimConfig.FaultProfile profile;
    private final int totalWeight;
    private boolean active;
    private int events;
    /** Each temporary fault's undo only acts if no later fault of its kind replaced it. */
    private int partitionGeneration;
    private int lossGeneration;
    private int slowGeneration;
    /** When the current span of faults ends and the nemesis rests. */
    private long spanEndsUs;
    /** Until then, the next replica to grant a vote crashes right after sending it (vote durability). */
    private long voteCrashArmedUntilUs = -1;
    /** Until then, the next leader to apply a client command crashes with every other node (entry durability). */
    private long applyCrashArmedUntilUs = -1;
    /** everMember[g][n]: node n has been a member of group g (so it has a log to be re-added with). */
    private final boolean[][] everMember;

    SimNemesis(SimCluster cluster, SplittableRandom random) {
        this.cluster = cluster;
        this.random = random;
        this.nodeCount = cluster.config().nodeCount();
        this.profile = cluster.config().faultProfile();
        int w = 0;
        for (Fault f : Fault.values()) {
            w += f.weight(profile);
        }
        this.totalWeight = w;
        this.everMember = new boolean[cluster.config().groupCount() + 1][nodeCount + 1];
        for (int g = 1; g <= cluster.config().groupCount(); g++) {
            for (int n = 1; n <= cluster.config().initialVoters(); n++) {
                everMember[g][n] = true;
            }
        }
    }

    int events() {
        return events;
    }

    void start() {
        active = true;
        spanEndsUs = cluster.scheduler().nowUs() + faultSpanUs();
        scheduleNext(200 * MS);
    }

    /** No more faults: heal every link, end bursts, restart every crashed node. */
    void stop() {
        active = false;
        undoAll();
        cluster.network().quiet();
    }

    /** Heals the network, ends bursts and disk stalls, restarts every crashed node, disarms targeted crashes. */
    private void undoAll() {
        partitionGeneration++;
        lossGeneration++;
        slowGeneration++;
        voteCrashArmedUntilUs = -1;
        applyCrashArmedUntilUs = -1;
        cluster.network().healAll();
        cluster.network().restoreDefaults();
        for (int n = 1; n <= nodeCount; n++) {
            cluster.stallDisk(n, 0, 0);
            cluster.restart(n);
        }
    }

    /** How long faults pile up before the nemesis rests (Jepsen-style on/off cycles). */
    private long faultSpanUs() {
        return 2 * SimConfig.SECOND + random.nextLong(3 * SimConfig.SECOND);
    }

    private void scheduleNext(long minUs) {
        cluster.scheduler().after(minUs + random.nextLong(400 * MS), this::fire);
    }

    private void fire() {
        if (!active) {
            return;
        }
        long now = cluster.scheduler().nowUs();
        if (now >= spanEndsUs) {
            // A quiet spell: the cluster must recover from everything injected so far, and clients
            // make progress even in seeds whose faults never let a leader last.
            long restUs = 200 * MS + random.nextLong(600 * MS);
            cluster.log("nemesis rests for %d ms", restUs / MS);
            undoAll();
            spanEndsUs = now + restUs + faultSpanUs();
            scheduleNext(restUs);
            return;
        }
        Fault f = pick();
        if (inject(f)) {
            events++;
            cluster.log("nemesis event %d: %s", events, f);
        }
        scheduleNext(100 * MS);
    }

    private Fault pick() {
        int x = random.nextInt(totalWeight);
        for (Fault f : Fault.values()) {
            x -= f.weight(profile);
            if (x < 0) {
                return f;
            }
        }
        throw new AssertionError();
    }

    private boolean inject(Fault f) {
        return switch (f) {
            case PARTITION -> partition(true);
            case ONE_WAY_PARTITION -> partition(false);
            case ISOLATE_LEADER -> isolateLeader();
            case HEAL -> {
                partitionGeneration++;
                cluster.network().healAll();
                yield true;
            }
            case CRASH -> crash(1);
            case CRASH_MAJORITY -> crash(nodeCount / 2 + 1);
            case CRASH_ALL -> crash(nodeCount);
            case LOSS_BURST -> lossBurst();
            case DELAY_SPIKE -> delaySpike();
            case DISK_STALL -> diskStall();
            case CRASH_AFTER_VOTE -> {
                voteCrashArmedUntilUs = cluster.scheduler().nowUs() + 2 * SimConfig.SECOND;
                yield true;
            }
            case CRASH_ALL_AFTER_APPLY -> {
                applyCrashArmedUntilUs = cluster.scheduler().nowUs() + 2 * SimConfig.SECOND;
                yield true;
            }
            case MEMBERSHIP -> changeMembership(1 + random.nextInt(cluster.config().groupCount()), true);
            case TRANSFER_LEADER -> transferLeader(1 + random.nextInt(cluster.config().groupCount()));
        };
    }

    /** Splits the nodes in two random non-empty sides; symmetric cuts both ways, else only side A to B. */
    private boolean partition(boolean symmetric) {
        boolean[] sideA = new boolean[nodeCount + 1];
        int sizeA = 1 + random.nextInt(nodeCount - 1);
        for (int n : shuffledNodes().subList(0, sizeA)) {
            sideA[n] = true;
        }
        cluster.network().healAll();
        for (int a = 1; a <= nodeCount; a++) {
            for (int b = 1; b <= nodeCount; b++) {
                if (sideA[a] && !sideA[b]) {
                    cluster.network().cut(a, b);
                    if (symmetric) {
                        cluster.network().cut(b, a);
                    }
                }
            }
        }
        cluster.log("%s partition, side A %s", symmetric ? "symmetric" : "one-way (A to B cut)", sideA(sideA));
        healLater();
        return true;
    }

    private static String sideA(boolean[] sideA) {
        List<Integer> nodes = new ArrayList<>();
        for (int n = 1; n < sideA.length; n++) {
            if (sideA[n]) {
                nodes.add(n);
            }
        }
        return nodes.toString();
    }

    private boolean isolateLeader() {
        SimReplica leader = cluster.leaderOf(1 + random.nextInt(cluster.config().groupCount()));
        int victim = leader != null ? leader.nodeId : 1 + random.nextInt(nodeCount);
        cluster.network().healAll();
        for (int n = 1; n <= nodeCount; n++) {
            if (n != victim) {
                cluster.network().cut(victim, n);
                cluster.network().cut(n, victim);
            }
        }
        cluster.log("node %d isolated", victim);
        healLater();
        return true;
    }

    private void healLater() {
        int generation = ++partitionGeneration;
        cluster.scheduler().after(200 * MS + random.nextLong(1300 * MS), () -> {
            if (partitionGeneration == generation) {
                cluster.log("network healed");
                cluster.network().healAll();
            }
        });
    }

    /** Crashes up to {@code count} running nodes; each restarts after its own delay. */
    private boolean crash(int count) {
        List<Integer> victims = new ArrayList<>();
        for (int n : shuffledNodes()) {
            if (victims.size() < count && cluster.node(n).isUp()) {
                victims.add(n);
            }
        }
        if (victims.isEmpty()) {
            return false;
        }
        for (int n : victims) {
            cluster.crash(n);
            // Some restarts are quick, so the node is back within the same election.
            long downUs = random.nextInt(3) == 0 ? 5 * MS + random.nextLong(55 * MS) : 100 * MS + random.nextLong(1500 * MS);
            cluster.scheduler().after(downUs, () -> cluster.restart(n));
        }
        return true;
    }

    private boolean lossBurst() {
        cluster.network().setLoss(0.1 + random.nextDouble() * 0.3, 0.05 + random.nextDouble() * 0.2);
        int generation = ++lossGeneration;
        cluster.scheduler().after(300 * MS + random.nextLong(1200 * MS), () -> {
            if (lossGeneration == generation) {
                cluster.network().setLoss(cluster.config().baseLossProbability(), cluster.config().baseDuplicateProbability());
            }
        });
        return true;
    }

    private boolean delaySpike() {
        cluster.network().setSlow(0.2 + random.nextDouble() * 0.6, 20 * MS + random.nextLong(130 * MS));
        int generation = ++slowGeneration;
        cluster.scheduler().after(200 * MS + random.nextLong(800 * MS), () -> {
            if (slowGeneration == generation) {
                cluster.network().setSlow(cluster.config().slowProbability(), cluster.config().slowDelayUs());
            }
        });
        return true;
    }

    /** A replica hands {@code m} to the network: fires an armed crash-after-vote. */
    void onSend(SimReplica sender, Message m) {
        if (m.type != MessageType.VOTE_RESPONSE || m.reject || !active
                || cluster.scheduler().nowUs() > voteCrashArmedUntilUs) {
            return;
        }
        voteCrashArmedUntilUs = -1;
        int n = sender.nodeId;
        cluster.scheduler().after(random.nextLong(SimConfig.MS), () -> {
            cluster.crash(n);
            cluster.scheduler().after(5 * MS + random.nextLong(55 * MS), () -> cluster.restart(n));
        });
    }

    /** A leader applied a client command (an acknowledged write): fires an armed crash of every node. */
    void onLeaderApplied(SimReplica leader) {
        if (!active || cluster.scheduler().nowUs() > applyCrashArmedUntilUs) {
            return;
        }
        applyCrashArmedUntilUs = -1;
        cluster.scheduler().after(0, () -> {
            for (int n = 1; n <= nodeCount; n++) {
                int node = n;
                cluster.crash(node);
                cluster.scheduler().after(5 * MS + random.nextLong(300 * MS), () -> cluster.restart(node));
            }
        });
    }

    /** Slows one node's disk (often a leader's), widening the window between acknowledging and persisting. */
    private boolean diskStall() {
        SimReplica leader = cluster.leaderOf(1 + random.nextInt(cluster.config().groupCount()));
        int victim = leader != null && random.nextBoolean() ? leader.nodeId : 1 + random.nextInt(nodeCount);
        long delayUs = 5 * MS + random.nextLong(55 * MS);
        cluster.log("node %d disk stalls (writes take ~%d ms)", victim, delayUs / MS);
        cluster.stallDisk(victim, 300 * MS + random.nextLong(1200 * MS), delayUs);
        return true;
    }

    private boolean transferLeader(int groupId) {
        SimReplica leader = cluster.leaderOf(groupId);
        if (leader == null) {
            return false;
        }
        long[] voters = leader.raft().confState().voters();
        if (voters.length < 2) {
            return false;
        }
        long target;
        do {
            target = voters[random.nextInt(voters.length)];
        } while (target == leader.nodeId);
        boolean started = leader.transferLeader(target);
        cluster.log("group %d: leader %d transfers to %d: %s", groupId, leader.nodeId, target, started ? "started" : "refused");
        return started;
    }

    /**
     * Promotes or removes a learner, removes a voter (at most down to 3), or adds a node as learner or
     * voter; sometimes proposes a second change right behind the first.
     */
    private boolean changeMembership(int groupId, boolean mayAddSecond) {
        SimReplica leader = cluster.leaderOf(groupId);
        if (leader == null) {
            return false;
        }
        ConfState cs = leader.raft().confState();
        long[] voters = cs.voters();
        long[] learners = cs.learners();
        ConfChange cc;
        if (learners.length > 0 && voters.length < 5 && random.nextInt(3) != 0) {
            cc = new ConfChange(ConfChangeType.PROMOTE_LEARNER, learners[random.nextInt(learners.length)]);
        } else if (learners.length > 0 && random.nextBoolean()) {
            cc = new ConfChange(ConfChangeType.REMOVE_NODE, learners[random.nextInt(learners.length)]);
        } else {
            boolean canRemove = voters.length > 3;
            boolean canAdd = voters.length + learners.length < nodeCount;
            if (canRemove && (!canAdd || random.nextBoolean())) {
                long victim = voters[random.nextInt(voters.length)];
                if (victim == leader.nodeId && random.nextInt(3) != 0) {
                    // Remove the leader itself sometimes, but mostly a follower.
                    do {
                        victim = voters[random.nextInt(voters.length)];
                    } while (victim == leader.nodeId);
                }
                cc = new ConfChange(ConfChangeType.REMOVE_NODE, victim);
            } else if (canAdd) {
                List<Integer> candidates = new ArrayList<>();
                for (int n = 1; n <= nodeCount; n++) {
                    if (!cs.isVoter(n) && !cs.isLearner(n)) {
                        candidates.add(n);
                    }
                }
                int n = candidates.get(random.nextInt(candidates.size()));
                boolean direct = everMember[groupId][n] && random.nextBoolean();
                cc = new ConfChange(direct ? ConfChangeType.ADD_VOTER : ConfChangeType.ADD_LEARNER, n);
            } else {
                return false;
            }
        }
        proposeConfChange(groupId, cc, CONF_CHANGE_TRIES);
        if (mayAddSecond && random.nextInt(4) == 0) {
            // A second change at once: the leader must refuse it (CONF_CHANGE_PENDING) until the first is applied.
            changeMembership(groupId, false);
        }
        return true;
    }

    /** Proposes {@code cc} through the current leader, retrying while it is refused for a passing reason. */
    private void proposeConfChange(int groupId, ConfChange cc, int triesLeft) {
        if (!active) {
            return;
        }
        SimReplica leader = cluster.leaderOf(groupId);
        if (leader != null) {
            if (!stillSensible(leader.raft().confState(), cc)) {
                return;
            }
            ProposeResult result = leader.proposeConfChange(cc);
            cluster.log("group %d: propose %s through leader %d: %s", groupId, cc, leader.nodeId, result);
            if (result == ProposeResult.ACCEPTED) {
                int n = (int) cc.nodeId();
                if (cc.type() == ConfChangeType.ADD_LEARNER || cc.type() == ConfChangeType.ADD_VOTER) {
                    everMember[groupId][n] = true;
                }
                if (cc.type() == ConfChangeType.ADD_LEARNER) {
                    cluster.scheduler().after(300 * MS + random.nextLong(700 * MS),
                            () -> proposeConfChange(groupId, new ConfChange(ConfChangeType.PROMOTE_LEARNER, n), CONF_CHANGE_TRIES));
                }
                return;
            }
            if (result == ProposeResult.CONF_CHANGE_INVALID) {
                return;
            }
        }
        if (triesLeft > 0) {
            cluster.scheduler().after(50 * MS + random.nextLong(100 * MS), () -> proposeConfChange(groupId, cc, triesLeft - 1));
        }
    }

    /** Whether {@code cc} still makes sense against the leader's current membership (3 to 5 voters). */
    private boolean stillSensible(ConfState cs, ConfChange cc) {
        long n = cc.nodeId();
        int members = cs.voters().length + cs.learners().length;
        return switch (cc.type()) {
            case ADD_VOTER, ADD_LEARNER -> !cs.isVoter(n) && !cs.isLearner(n) && members < nodeCount;
            case REMOVE_NODE -> cs.isLearner(n) || (cs.isVoter(n) && cs.voters().length > 3);
            case PROMOTE_LEARNER -> cs.isLearner(n) && cs.voters().length < 5;
        };
    }

    private List<Integer> shuffledNodes() {
        List<Integer> nodes = new ArrayList<>();
        for (int n = 1; n <= nodeCount; n++) {
            nodes.add(n);
        }
        for (int i = nodes.size() - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            Integer t = nodes.get(i);
            nodes.set(i, nodes.get(j));
            nodes.set(j, t);
        }
        return nodes;
    }
}
