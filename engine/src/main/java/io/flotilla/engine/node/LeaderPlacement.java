package io.flotilla.engine.node;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.transport.PeerTransport;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Spreads the leaderships of a new cluster's initial ranges evenly over its nodes: range {@code i}
 * (ids from 1, in key order) prefers the {@code (i - 1) mod N}-th of its voters in id order. Left to
 * randomized election timeouts, whichever node starts first wins most elections (measured: 38 / 14 /
 * 12 of 64 ranges), and it then carries most of the client load.
 *
 * <p>For a bounded time after bootstrap, every {@link #POLL_MS}: the preferred node campaigns for a
 * range that knows no leader yet once a quorum of its peers is connected (so ranges get a leader at
 * once, not an election timeout later), and a node that leads a range another node prefers hands it
 * over (Raft leader transfer, thesis §3.10) once that node is connected. It ends once every peer
 * has been connected at least once (a node that starts late still gets its ranges) and this node
 * has nothing left to do: it leads no range that a connected node prefers, and every range it
 * prefers has a leader; or at its deadline, or at {@link #stop}. Best effort: a range whose
 * preferred node is down keeps the leader it elected. Runs on its own thread
 * ({@code flotilla-leader-placement-<node>}), started by the node after a bootstrap and stopped
 * before its shutdown hands leaderships away.
 */
final class LeaderPlacement implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(LeaderPlacement.class);
    static final long POLL_MS = 20;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final PeerTransport transport;
    private final List<RangeDescriptor> ranges;
    private final long deadlineNs;
    /** A range is asked again (campaign or transfer) only after this much time, per range. */
    private final long askAgainNs;
    private final long[] nextAskNs;
    /** Voters of the ranges, other than this node, not yet seen connected. */
    private final java.util.Set<Long> unseenPeers = new java.util.HashSet<>();
    private final Thread thread;
    private volatile boolean stopped;
    private volatile boolean finished;

    private LeaderPlacement(long nodeId, MultiRaftNode runtime, PeerTransport transport, List<RangeDescriptor> ranges,
            long timeoutMs, long askAgainMs) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.transport = transport;
        this.ranges = List.copyOf(ranges);
        this.deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        this.askAgainNs = TimeUnit.MILLISECONDS.toNanos(askAgainMs);
        this.nextAskNs = new long[this.ranges.size()];
        for (RangeDescriptor range : this.ranges) {
            for (long v : RangeBootstrap.voters(range)) {
                if (v != nodeId) {
                    unseenPeers.add(v);
                }
            }
        }
        this.thread = new Thread(this, "flotilla-leader-placement-" + nodeId);
        this.thread.setDaemon(true);
    }

    /**
     * Starts placing the leaders of {@code ranges} for at most {@code timeoutMs}; a range is asked
     * again at most every {@code askAgainMs} (an election timeout: time for a campaign or a transfer
     * to finish).
     */
    static LeaderPlacement start(long nodeId, MultiRaftNode runtime, PeerTransport transport, List<RangeDescriptor> ranges,
            long timeoutMs, long askAgainMs) {
        LeaderPlacement placement = new LeaderPlacement(nodeId, runtime, transport, ranges, timeoutMs, askAgainMs);
        placement.thread.start();
        return placement;
    }

    /** The node that should lead {@code range}: its {@code (id - 1) mod N}-th voter in id order; 0 if it has none. */
    static long preferredLeader(RangeDescriptor range) {
        long[] voters = RangeBootstrap.voters(range);
        if (voters.length == 0) {
            return 0;
        }
        Arrays.sort(voters);
        return voters[(int) Math.floorMod(range.getRangeId() - 1, (long) voters.length)];
    }

    /** Stops placing and waits for the thread; any thread but its own. */
    void stop() {
        stopped = true;
        LockSupport.unpark(thread);
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether placement has ended (done, given up, or stopped): leaders move no more because of it. Any thread. */
    boolean finished() {
        return finished;
    }

    @Override
    public void run() {
        try {
            place();
        } finally {
            finished = true;
        }
    }

    private void place() {
        long startNs = System.nanoTime();
        int campaigns = 0;
        int transfers = 0;
        boolean placed = false;
        try {
            while (!stopped && runtime.failure() == null && System.nanoTime() < deadlineNs) {
                int misplaced = 0;
                long nowNs = System.nanoTime();
                for (int i = 0; i < ranges.size(); i++) {
                    RangeDescriptor range = ranges.get(i);
                    long preferred = preferredLeader(range);
                    GroupView view = runtime.groupView(range.getRangeId());
                    if (view == null || preferred == 0 || view.leaderNodeId() == preferred) {
                        continue;
                    }
                    // Only this node's part counts: a range it leads that a connected node prefers
                    // (it hands it over), and a range it prefers that has no leader (it campaigns).
                    // A range it prefers that another node leads is that node's part.
                    boolean handOver = view.leading() && preferred != nodeId && transport.isConnected(preferred);
                    boolean campaign = preferred == nodeId && view.leaderNodeId() == 0;
                    if (!handOver && !campaign) {
                        continue;
                    }
                    misplaced++;
                    if (nowNs - nextAskNs[i] < 0) {
                        continue;
                    }
                    if (campaign && quorumConnected(range)) {
                        runtime.campaign(range.getRangeId());
                        campaigns++;
                        nextAskNs[i] = nowNs + askAgainNs;
                    } else if (handOver) {
                        runtime.transferLeader(range.getRangeId(), preferred, LeadershipHandoff.IGNORE);
                        transfers++;
                        nextAskNs[i] = nowNs + askAgainNs;
                    }
                }
                notePeersSeen();
                // Not before every peer was up once: a node that starts late gets its ranges handed over.
                if (misplaced == 0 && unseenPeers.isEmpty()) {
                    placed = true;
                    break;
                }
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(POLL_MS));
            }
        } catch (RuntimeException e) {
            // Placement is an optimisation: the ranges keep whatever leaders they elected.
            LOG.warn("node {}: leader placement stopped after an error", nodeId, e);
            return;
        }
        LOG.info("node {}: leader placement {} after {} ms ({} campaigns, {} transfers asked); leads {} ranges", nodeId,
                placed ? "done" : "gave up", TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs), campaigns,
                transfers, runtime.leaderGroups());
    }

    private void notePeersSeen() {
        unseenPeers.removeIf(transport::isConnected);
    }

    /** Whether this node is connected to enough of the range's other voters to win an election. */
    private boolean quorumConnected(RangeDescriptor range) {
        long[] voters = RangeBootstrap.voters(range);
        int reachable = 0;
        for (long v : voters) {
            if (v == nodeId || transport.isConnected(v)) {
                reachable++;
            }
        }
        return reachable > voters.length / 2;
    }
}
