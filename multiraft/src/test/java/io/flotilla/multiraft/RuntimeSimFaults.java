package io.flotilla.multiraft;

import io.flotilla.multiraft.RuntimeSimChecker.Call;
import io.flotilla.multiraft.RuntimeSimChecker.CallKind;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import io.flotilla.raft.RaftNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The nemeses of the runtime simulation: at seeded intervals one of the switched-on
 * {@link RuntimeSimNemesis} kinds strikes, and undoes itself later where that makes sense (a node
 * restarts, a partition heals, a supervisor restarts a node whose worker failed). Owned by the
 * seed's thread.
 */
final class RuntimeSimFaults {
    /** Node ids of forgers: never members of anything. */
    private static final long FORGER = 1000;

    private final RuntimeSimCluster cluster;
    private final RuntimeSimConfig config;
    private final SplittableRandom random;
    private final List<RuntimeSimNemesis> kinds;
    private boolean stopped;
    private long events;
    private long crashes;
    private int partitionGeneration;
    /** The partition stays until the run ends. */
    private boolean holdPartition;

    RuntimeSimFaults(RuntimeSimCluster cluster, RuntimeSimConfig config, SplittableRandom random) {
        this.cluster = cluster;
        this.config = config;
        this.random = random;
        this.kinds = new ArrayList<>(config.nemeses());
    }

    long events() {
        return events;
    }

    long crashes() {
        return crashes;
    }

    void start() {
        if (!kinds.isEmpty()) {
            cluster.scheduler().after(gapNs(), this::strike);
        }
        if (kinds.contains(RuntimeSimNemesis.PARTITION) && random.nextBoolean()) {
            // A leader cut off just before the writes stop: the entries it appended after the majority
            // moved on may never be overwritten by later writes, so only the runtime can answer them.
            long at = config.runNs() - config.electionTimeoutNs() * 5 / 2 - random.nextLong(2 * config.electionTimeoutNs());
            cluster.scheduler().after(at, this::isolateLeaderAtTheEnd);
        }
    }

    private void isolateLeaderAtTheEnd() {
        RuntimeSimNode leader = cluster.leaderOf(pick(Arrays.asList(cluster.groups())).id);
        if (leader == null) {
            return;
        }
        events++;
        partitionGeneration++;
        holdPartition = true;
        cluster.network().isolate(leader.id);
        cluster.trace("nemesis: partition " + cluster.network().describeSides() + " (a leader, until the run ends)");
    }

    /** The final phase: nothing new strikes and pending undos are left to the final phase's own healing. */
    void stopAll() {
        stopped = true;
    }

    private long gapNs() {
        return config.nemesisGapNs() / 2 + random.nextLong(config.nemesisGapNs());
    }

    private long electionTimeouts(int min, int max) {
        return min * config.electionTimeoutNs() + random.nextLong((max - min) * config.electionTimeoutNs() + 1);
    }

    private void strike() {
        if (stopped || cluster.scheduler().nowNs() >= config.runNs()) {
            return;
        }
        for (int tries = 0; tries < 4; tries++) {
            RuntimeSimNemesis kind = kinds.get(random.nextInt(kinds.size()));
            if (inject(kind)) {
                events++;
                break;
            }
        }
        cluster.scheduler().after(gapNs(), this::strike);
    }

    private boolean inject(RuntimeSimNemesis kind) {
        return switch (kind) {
            case CRASH -> crash();
            case CLOSE -> close();
            case PARTITION -> partition();
            case DESTROY -> destroy();
            case REMOVE_LEADER -> removeLeader();
            case TRANSFER -> transfer();
            case FAIL_WORKER -> failWorker();
            case FORGE -> forge();
        };
    }

    private List<RuntimeSimNode> liveNodes() {
        List<RuntimeSimNode> live = new ArrayList<>();
        for (RuntimeSimNode n : cluster.nodes()) {
            if (n.live()) {
                live.add(n);
            }
        }
        return live;
    }

    private <T> T pick(List<T> list) {
        return list.get(random.nextInt(list.size()));
    }

    /** One node, two, or every node at once (a power failure of the room); now, or at its next log force. */
    private boolean crash() {
        List<RuntimeSimNode> live = liveNodes();
        if (live.isEmpty()) {
            return false;
        }
        int dice = random.nextInt(100);
        int count = Math.min(live.size(), dice < 60 ? 1 : dice < 85 ? 2 : live.size());
        for (int i = 0; i < count; i++) {
            RuntimeSimNode n = live.remove(random.nextInt(live.size()));
            crashes++;
            if (random.nextBoolean()) {
                cluster.crash(n, cluster.randomCrashMode(), "nemesis");
            } else {
                n.disk().cutPowerAtNextForce();
                cluster.trace("nemesis: the power of node " + n.id + " fails at its next log force");
            }
        }
        return true;
    }

    private boolean close() {
        List<RuntimeSimNode> live = liveNodes();
        if (live.isEmpty()) {
            return false;
        }
        RuntimeSimNode n = pick(live);
        cluster.trace("nemesis: close node " + n.id);
        cluster.closeNode(n);
        int inc = n.incarnation();
        boolean keep = random.nextBoolean();
        cluster.scheduler().after(config.electionTimeoutNs() / 5 + electionTimeouts(0, 6), () -> {
            if (n.state() == RuntimeSimNode.State.CLOSED && n.incarnation() == inc) {
                cluster.restart(n, keep);
            }
        });
        return true;
    }

    private boolean partition() {
        RuntimeSimNetwork net = cluster.network();
        if (holdPartition) {
            return false;
        }
        if (net.partitioned()) {
            net.heal();
            cluster.trace("nemesis: heal");
            return true;
        }
        int total = config.totalNodes();
        int dice = random.nextInt(3);
        RuntimeSimNode leader = dice == 0 ? cluster.leaderOf(pick(Arrays.asList(cluster.groups())).id) : null;
        if (leader != null) {
            // A leader cut off with proposals in flight: a new leader overwrites them on the majority side.
            net.isolate(leader.id);
        } else if (dice == 1) {
            net.isolate(1 + random.nextInt(total));
        } else {
            net.split(1 + random.nextInt((1 << total) - 2));
        }
        cluster.trace("nemesis: partition " + net.describeSides());
        int generation = ++partitionGeneration;
        cluster.scheduler().after(electionTimeouts(3, 10), () -> {
            if (generation == partitionGeneration && net.partitioned()) {
                net.heal();
                cluster.trace("heal");
            }
        });
        return true;
    }

    /**
     * Groups with a leader, three voters or more (as the leader, the most advanced live replica and
     * the most advanced replica ever seen applied them: any one of them may lag a removal another
     * applied), no membership change under way and no dead voter: safe to take one away without
     * losing the quorum.
     */
    private List<RuntimeSimCluster.GroupState> healthyGroups() {
        List<RuntimeSimCluster.GroupState> healthy = new ArrayList<>();
        for (RuntimeSimCluster.GroupState g : cluster.groups()) {
            long[] voters = cluster.voters(g.id);
            RuntimeSimNode leader = cluster.leaderOf(g.id);
            RaftNode lead = leader == null ? null : leader.replica(g.id);
            if (g.adminCall != null || cluster.application().holdsMembership(g.id) || voters == null || voters.length < 3 || lead == null
                    || lead.confState().voters().length < 3 || g.latestConf == null || g.latestConf.voters().length < 3) {
                continue;
            }
            boolean intact = true;
            for (long v : voters) {
                intact &= !cluster.node(v).gone.contains(g.id);
            }
            if (cluster.application().dropsRemovedReplicas()) {
                // A replica that lags a removal still counts the removed voter, whose replica is (or soon
                // will be) dropped: one more loss would leave it and its peers without a quorum for good.
                for (RuntimeSimNode n : cluster.nodes()) {
                    RaftNode r = n.replica(g.id);
                    for (long v : r == null ? new long[0] : r.confState().voters()) {
                        intact &= contains(voters, v) && !cluster.node(v).dropped.contains(g.id);
                    }
                }
            }
            if (intact) {
                healthy.add(g);
            }
        }
        return healthy;
    }

    private static boolean contains(long[] ids, long id) {
        for (long x : ids) {
            if (x == id) {
                return true;
            }
        }
        return false;
    }

    /** destroyReplica of a voter's replica, the leader's half the time; the operator removes the voter later. */
    private boolean destroy() {
        List<RuntimeSimCluster.GroupState> healthy = healthyGroups();
        if (healthy.isEmpty()) {
            return false;
        }
        RuntimeSimCluster.GroupState g = pick(healthy);
        RuntimeSimNode victim = random.nextBoolean() ? cluster.leaderOf(g.id) : null;
        if (victim == null) {
            List<RuntimeSimNode> hosts = new ArrayList<>();
            for (long v : cluster.voters(g.id)) {
                RuntimeSimNode n = cluster.node(v);
                if (n.live() && n.replica(g.id) != null) {
                    hosts.add(n);
                }
            }
            if (hosts.isEmpty()) {
                return false;
            }
            victim = pick(hosts);
        }
        RaftNode r = victim.replica(g.id);
        victim.gone.add(g.id);
        g.refill = random.nextBoolean();
        cluster.trace("nemesis: destroyReplica of group " + g.id + " on node " + victim.id + " ("
                + (r == null ? "no replica" : r.role() + " in term " + r.term()) + ")" + (g.refill ? ", to be replaced" : ""));
        victim.node().destroyReplica(g.id);
        return true;
    }

    /** The leader proposes the removal of its own node. */
    private boolean removeLeader() {
        List<RuntimeSimCluster.GroupState> healthy = healthyGroups();
        if (healthy.isEmpty()) {
            return false;
        }
        RuntimeSimCluster.GroupState g = pick(healthy);
        RuntimeSimNode leader = cluster.leaderOf(g.id);
        if (leader == null) {
            return false;
        }
        g.refill = random.nextBoolean();
        cluster.trace("nemesis: the leader of group " + g.id + ", node " + leader.id + ", removes itself"
                + (g.refill ? "; another node is added later" : ""));
        cluster.changeMembership(g, leader, new ConfChange(ConfChangeType.REMOVE_NODE, leader.id));
        return true;
    }

    private boolean transfer() {
        RuntimeSimCluster.GroupState g = pick(Arrays.asList(cluster.groups()));
        RuntimeSimNode leader = cluster.leaderOf(g.id);
        long[] voters = cluster.voters(g.id);
        if (leader == null || voters == null || voters.length < 2) {
            return false;
        }
        long target = voters[random.nextInt(voters.length)];
        if (target == leader.id) {
            return false;
        }
        cluster.trace("nemesis: transfer leadership of group " + g.id + " from node " + leader.id + " to node " + target);
        Call call = cluster.checker().newCall(CallKind.TRANSFER, leader.id, leader.incarnation(), g.id, 0);
        leader.node().transferLeader(g.id, target, cluster.proposalListener(call, leader.stateMachine(), false,
                (answer, number, captured) -> cluster.trace("transfer of group " + g.id + " to node " + target + ": " + answer)));
        return true;
    }

    /** The next apply of a live node throws; a supervisor restarts the node 10 to 15 election timeouts later. */
    private boolean failWorker() {
        for (RuntimeSimNode n : cluster.nodes()) {
            if (n.failed()) {
                return false;
            }
        }
        List<RuntimeSimNode> hosts = new ArrayList<>();
        for (RuntimeSimNode n : liveNodes()) {
            for (RuntimeSimCluster.GroupState g : cluster.groups()) {
                if (n.replica(g.id) != null) {
                    hosts.add(n);
                    break;
                }
            }
        }
        if (hosts.isEmpty()) {
            return false;
        }
        RuntimeSimNode n = pick(hosts);
        int inc = n.incarnation();
        RuntimeSimStateMachine stateMachine = n.stateMachine();
        stateMachine.failNextApply(true);
        cluster.trace("nemesis: the state machine of node " + n.id + " throws at its next apply");
        cluster.scheduler().after(electionTimeouts(10, 15), () -> {
            if (n.incarnation() != inc || !n.up()) {
                return;
            }
            if (n.failed()) {
                cluster.supervisorRestart(n);
            } else {
                stateMachine.failNextApply(false);
            }
        });
        return true;
    }

    /**
     * A message no correct peer sends, handed to {@code deliver} as a transport would: from a node
     * that is no member of the group (as a removed node or a stray process could send), possibly
     * with an absurd term, or for a group the node does not host.
     */
    private boolean forge() {
        List<RuntimeSimNode> live = liveNodes();
        if (live.isEmpty()) {
            return false;
        }
        RuntimeSimNode n = pick(live);
        RuntimeSimCluster.GroupState g = pick(Arrays.asList(cluster.groups()));
        RaftNode r = n.replica(g.id);
        // A replica a forgery already pushed to a huge term: stay below the overflow ourselves.
        long term = r == null ? 1 : Math.min(r.term(), Long.MAX_VALUE - 4);
        long from = FORGER + random.nextInt(3);
        Message m;
        switch (random.nextInt(6)) {
            case 0 -> {
                m = new Message(MessageType.VOTE, g.id, from, n.id, Long.MAX_VALUE);
                m.index = Long.MAX_VALUE / 2;
                m.logTerm = Long.MAX_VALUE / 2;
            }
            case 1 -> {
                m = new Message(MessageType.PRE_VOTE, g.id, from, n.id, term + 1 + random.nextInt(3));
                m.index = Long.MAX_VALUE / 2;
                m.logTerm = Long.MAX_VALUE / 2;
            }
            case 2 -> {
                m = new Message(MessageType.VOTE, g.id, from, n.id, term + 1 + random.nextInt(3));
                m.index = Long.MAX_VALUE / 2;
                m.logTerm = term;
            }
            case 3 -> {
                m = new Message(random.nextBoolean() ? MessageType.APPEND_RESPONSE : MessageType.HEARTBEAT_RESPONSE, g.id, from,
                        n.id, term + random.nextInt(2));
                m.index = random.nextLong(1000);
            }
            case 4 -> m = new Message(MessageType.TIMEOUT_NOW, g.id, from, n.id, term);
            default -> {
                m = new Message(MessageType.VOTE, 1 + random.nextLong(1L << 40), from, n.id, 1 + random.nextLong(100));
                m.index = 1;
                m.logTerm = 1;
            }
        }
        cluster.trace("nemesis: forged message to node " + n.id + " group " + m.groupId + ": " + m);
        n.deliver(List.of(m));
        return true;
    }
}
