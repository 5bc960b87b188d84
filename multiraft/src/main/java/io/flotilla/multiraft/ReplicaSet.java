package io.flotilla.multiraft;

import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalTombstones;
import java.util.ArrayList;
import java.util.concurrent.ConcurrentHashMap;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * The replicas a worker hosts, and which of them need attention: the dirty list (look at their
 * Ready this round), the awake list (ticked) and quiescence (the rest sleep until a message,
 * proposal or read wakes them, or the node of their leader goes silent or resigns the group). Also
 * the log indexes of removed replicas (tombstones) and of groups the log recovered that the owner
 * has not created yet. Owned by the worker thread.
 *
 * <p>Quiescence: a leader whose followers hold its whole log, and a caught-up follower of a live
 * leader, stop ticking. The node-level liveness heartbeat ({@link NodeLiveness}) wakes the followers
 * of a leader whose node goes silent, and names the groups whose leader replica on that node went
 * away while the node lives (destroyed or removed), so their followers wake and elect. Ticks cost
 * O(awake groups).
 *
 * <p>Removed replicas: while a removed replica's tombstone is on its way to the log its index stays
 * ({@link #removing}: its records are live until then); once the tombstone is durable only the
 * group id remains, in {@link #tombstones}.
 */
final class ReplicaSet {
    private final long nodeId;
    private final MultiRaftConfig config;
    private final NodeLiveness liveness;
    private final WorkerStats stats;

    private final Long2ObjectHashMap<Replica> groups = new Long2ObjectHashMap<>();
    /** The views of {@link #groups}, for other threads: written here by the worker, read by anyone. */
    private final ConcurrentHashMap<Long, GroupView> views = new ConcurrentHashMap<>();
    /**
     * This worker's groups whose replica was removed, tombstone durable (or recovered): hosted again
     * only by a rejoin (a REVIVE record); the log sweep keeps their newest tombstone copies live (one
     * set record for all of them).
     */
    final WalTombstones tombstones = new WalTombstones();
    /** Removed replicas whose tombstone is not durable yet: their indexes, whose records stay live until it is. */
    final Long2ObjectHashMap<WalGroupIndex> removing = new Long2ObjectHashMap<>();
    /**
     * Groups the log recovered that the owner has not created (again) yet: handed over by the node
     * before the worker starts, so their records count as live from the first log sweep.
     */
    final Long2ObjectHashMap<WalGroupIndex> recovered = new Long2ObjectHashMap<>();
    private final ArrayList<Replica> dirty = new ArrayList<>();
    /** Replicas that tick; the others sleep. */
    private final ArrayList<Replica> awake = new ArrayList<>();
    /** Sleeping followers by the node of their leader, woken if that node goes silent. */
    private final Long2ObjectHashMap<ArrayList<Replica>> sleepersByLeaderNode = new Long2ObjectHashMap<>();
    /** The worker's tick count (advanced by {@link #tick}). */
    private long ticks;

    ReplicaSet(long nodeId, MultiRaftConfig config, NodeLiveness liveness, WorkerStats stats) {
        this.nodeId = nodeId;
        this.config = config;
        this.liveness = liveness;
        this.stats = stats;
    }

    Replica get(long groupId) {
        return groups.get(groupId);
    }

    boolean hosts(long groupId) {
        return groups.containsKey(groupId);
    }

    /** Any thread: the view of a hosted replica, or null. */
    GroupView view(long groupId) {
        return views.get(groupId);
    }

    /** The group's replica here was removed (its tombstone durable or on its way): only a rejoin hosts it again. */
    boolean tombstoned(long groupId) {
        return tombstones.contains(groupId) || removing.containsKey(groupId);
    }

    int size() {
        return groups.size();
    }

    Iterable<Replica> all() {
        return groups.values();
    }

    long ticks() {
        return ticks;
    }

    /** A new replica: awake, with its first Ready looked at this round. */
    void add(Replica r) {
        groups.put(r.groupId, r);
        r.view.publish(r.node);
        views.put(r.groupId, r.view);
        r.wokeAtTick = ticks;
        awake.add(r);
        markDirty(r);
    }

    /** Forgets a replica; lists that still hold it skip it from now on. */
    void remove(Replica r) {
        r.destroyed = true;
        groups.remove(r.groupId);
        views.remove(r.groupId, r.view);
        if (r.leading) {
            r.leading = false;
            stats.leaderGroups--;
        }
    }

    void markDirty(Replica r) {
        if (!r.dirty) {
            r.dirty = true;
            dirty.add(r);
        }
    }

    /** The dirty list, for the round that collects Readies (which empties it with {@link #keepDirty}). */
    ArrayList<Replica> dirty() {
        return dirty;
    }

    /** The round kept the first {@code kept} entries of the dirty list (still being persisted). */
    void keepDirty(int kept) {
        truncate(dirty, kept);
    }

    boolean idle() {
        return awake.isEmpty() && dirty.isEmpty();
    }

    void wake(Replica r) {
        if (r.asleep && !r.destroyed) {
            r.asleep = false;
            r.wokeAtTick = ticks;
            awake.add(r);
        }
    }

    /** Advances the worker's clock by {@code passed} ticks and ticks every awake replica once. */
    void tick(long passed, long nowNs) {
        ticks += passed;
        int kept = 0;
        for (int i = 0; i < awake.size(); i++) {
            Replica r = awake.get(i);
            if (r.asleep || r.destroyed) {
                continue;
            }
            if (mayQuiesce(r, nowNs)) {
                fallAsleep(r);
                continue;
            }
            awake.set(kept++, r);
            r.node.tick();
            markDirty(r);
        }
        truncate(awake, kept);
        stats.awakeGroups = kept;
        wakeFollowersOfSilentLeaders(nowNs);
    }

    private void fallAsleep(Replica r) {
        r.asleep = true;
        r.asleepAtTick = ticks;
        // A sleeping replica does not tick, so its lease (counted in ticks) would outlive the sleep.
        r.node.dropLease();
        long leader = r.node.leader();
        // Filed once per leader node: a follower that wakes and sleeps again under the same leader
        // is in its list already (without the check, every cycle would add it again).
        if (r.node.role() != Role.LEADER && r.sleepsUnderNode != leader) {
            ArrayList<Replica> sleepers = sleepersByLeaderNode.get(leader);
            if (sleepers == null) {
                sleepers = new ArrayList<>();
                sleepersByLeaderNode.put(leader, sleepers);
            }
            sleepers.add(r);
            r.sleepsUnderNode = leader;
        }
    }

    /**
     * A leader may stop ticking once every member holds its whole log and nothing is pending; a
     * follower once it has applied everything its live leader has and nothing is pending.
     */
    private boolean mayQuiesce(Replica r, long nowNs) {
        // Awake for at least two heartbeat intervals, so a leader woken by a straggler's message
        // heartbeats (and brings it up to date) before it sleeps again.
        if (ticks - r.wokeAtTick < 2L * config.heartbeatIntervalTicks()) {
            return false;
        }
        if (r.outstanding != null || !r.proposals.isEmpty() || !r.readsWaitingForApply.isEmpty() || r.node.hasReady()) {
            return false;
        }
        RaftNode n = r.node;
        if (n.role() == Role.LEADER) {
            return n.quiescable();
        }
        if (n.awaitingSnapshot()) {
            // It asks its leader for a snapshot on its own ticks too (the leader may sleep).
            return false;
        }
        if (n.leader() == r.resignedLeader && n.term() == r.resignedLeaderTerm) {
            return false;
        }
        // A leader the applied membership no longer has (it removed itself) will never heartbeat
        // this group again, though its node lives: stay awake and elect (found by the runtime
        // simulation, when the removed leader's announcement was lost with its restart).
        // Only right after hearing from the leader replica itself: a follower woken because the
        // leader's node went silent must not fall asleep again when that node comes back, since
        // the replica may be gone and its announcement lost meanwhile (found by the runtime
        // simulation, seed 4240: a partition hid the removal, the heal put the followers to sleep).
        return n.role() == Role.FOLLOWER && n.leader() != 0 && n.leader() != nodeId && n.confState().isVoter(n.leader())
                && n.electionElapsedTicks() < config.electionTimeoutTicks()
                && n.commitIndex() == n.lastIndex() && n.appliedIndex() == n.commitIndex()
                && liveness.heardWithin(n.leader(), nowNs, electionTimeoutNs());
    }

    private long electionTimeoutNs() {
        return config.electionTimeoutTicks() * config.tickIntervalNs();
    }

    /** The node-level heartbeat stopped: the followers of that node's leaders wake up and, in time, elect. */
    private void wakeFollowersOfSilentLeaders(long nowNs) {
        for (Long2ObjectHashMap<ArrayList<Replica>>.EntryIterator it = sleepersByLeaderNode.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            long silent = it.getLongKey();
            if (!liveness.heardWithin(silent, nowNs, electionTimeoutNs())) {
                for (Replica r : it.getValue()) {
                    if (r.sleepsUnderNode == silent) {
                        r.sleepsUnderNode = 0;
                    }
                    wake(r);
                }
                it.remove();
            }
        }
    }

    /**
     * Node {@code leaderNode} lives but its replica of {@code groupId} no longer leads for good (it
     * was destroyed or removed): our follower wakes, so that it times out and elects (without this
     * it would sleep as long as that node keeps heartbeating).
     */
    void leaderResigned(long groupId, long leaderNode) {
        Replica r = groups.get(groupId);
        if (r != null && r.node.leader() == leaderNode) {
            // Stays awake until it follows someone else (or another term): that node lives, so
            // without this it would fall asleep again trusting the node heartbeat.
            r.resignedLeader = leaderNode;
            r.resignedLeaderTerm = r.node.term();
            wake(r);
        }
    }

    /** Drops the elements from {@code size} on; unlike {@code subList(..).clear()}, allocates nothing (every round). */
    static void truncate(ArrayList<Replica> list, int size) {
        for (int i = list.size() - 1; i >= size; i--) {
            list.remove(i);
        }
    }
}
