package io.flotilla.engine.node;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import io.flotilla.transport.PeerTransport;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Before a graceful shutdown: asks every range this node leads to hand its leadership to another
 * voter that this node is connected to (spread over them), asking again now and then, until this
 * node leads none or the given time is up. Best effort: ranges it still leads at the end elect a new leader once
 * the node is gone, one election timeout later. Runs on the thread that closes the node.
 */
final class LeadershipHandoff {
    private static final Logger LOG = LoggerFactory.getLogger(LeadershipHandoff.class);
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(5);
    private static final long ASK_AGAIN_NS = TimeUnit.MILLISECONDS.toNanos(200);

    private LeadershipHandoff() {
    }

    static void run(long nodeId, MultiRaftNode runtime, PeerTransport transport, List<RangeDescriptor> ranges, long timeoutMs) {
        long startNs = System.nanoTime();
        long deadlineNs = startNs + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int ledAtStart = leading(runtime, ranges);
        if (ledAtStart == 0) {
            return;
        }
        int turn = 0;
        int leading = ledAtStart;
        long nextAskNs = startNs;
        while (leading > 0 && System.nanoTime() < deadlineNs) {
            if (System.nanoTime() >= nextAskNs) {
                // Asked again every round: a transfer can fail (the target fell behind or went away),
                // and a range may come back to this node (a peer that shuts down at the same time hands
                // its own leaderships away, possibly to this node).
                for (RangeDescriptor range : ranges) {
                    GroupView view = runtime.groupView(range.getRangeId());
                    if (view != null && view.leading()) {
                        long target = pickTarget(nodeId, range, transport, turn++);
                        if (target != 0) {
                            runtime.transferLeader(range.getRangeId(), target, IGNORE);
                        }
                    }
                }
                nextAskNs = System.nanoTime() + ASK_AGAIN_NS;
            }
            LockSupport.parkNanos(POLL_NS);
            leading = leading(runtime, ranges);
        }
        // "Leads none" rather than "handed over": a range also stops being led here when its leader
        // replica loses its quorum (the other nodes shutting down as well).
        LOG.info("node {}: led {} ranges at shutdown; {} after {} ms{}", nodeId, ledAtStart,
                leading == 0 ? "leads none" : "still leads " + leading,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs),
                leading == 0 ? "" : " (they elect new leaders after this node stops)");
    }

    /** The {@code turn}-th connected voter other than this node, round robin; 0 if none. */
    private static long pickTarget(long nodeId, RangeDescriptor range, PeerTransport transport, int turn) {
        long[] voters = RangeBootstrap.voters(range);
        for (int i = 0; i < voters.length; i++) {
            long v = voters[(turn + i) % voters.length];
            if (v != nodeId && transport.isConnected(v)) {
                return v;
            }
        }
        return 0;
    }

    private static int leading(MultiRaftNode runtime, List<RangeDescriptor> ranges) {
        int n = 0;
        for (RangeDescriptor range : ranges) {
            GroupView view = runtime.groupView(range.getRangeId());
            if (view != null && view.leading()) {
                n++;
            }
        }
        return n;
    }

    /** A transfer or campaign needs no answer: the groups' views say when it is done. */
    static final ProposalListener IGNORE = new ProposalListener() {
        @Override
        public void onApplied(long groupId, long index) {
        }

        @Override
        public void onRefused(long groupId, ProposeResult result, long leaderHint) {
        }

        @Override
        public void onOutcomeUnknown(long groupId, long index) {
        }

        @Override
        public void onBusy(long groupId) {
        }
    };
}
