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
 * voter that this node is connected to (spread over them), then waits — at most the given time —
 * until this node leads none. Best effort: ranges it still leads at the end elect a new leader once
 * the node is gone, one election timeout later. Runs on the thread that closes the node.
 */
final class LeadershipHandoff {
    private static final Logger LOG = LoggerFactory.getLogger(LeadershipHandoff.class);
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(5);

    private LeadershipHandoff() {
    }

    static void run(long nodeId, MultiRaftNode runtime, PeerTransport transport, List<RangeDescriptor> ranges, long timeoutMs) {
        long startNs = System.nanoTime();
        long deadlineNs = startNs + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int asked = 0;
        int turn = 0;
        for (RangeDescriptor range : ranges) {
            GroupView view = runtime.groupView(range.getRangeId());
            if (view == null || !view.leading()) {
                continue;
            }
            long target = pickTarget(nodeId, range, transport, turn++);
            if (target != 0) {
                runtime.transferLeader(range.getRangeId(), target, IGNORE);
                asked++;
            }
        }
        if (asked == 0) {
            return;
        }
        int leading = asked;
        while (System.nanoTime() < deadlineNs) {
            leading = leading(runtime, ranges);
            if (leading == 0) {
                break;
            }
            LockSupport.parkNanos(POLL_NS);
        }
        LOG.info("node {}: handed {} of {} leaderships to other nodes in {} ms{}", nodeId, asked - leading, asked,
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs),
                leading == 0 ? "" : " (the rest elect new leaders after this node stops)");
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

    /** The transfer's start needs no answer: the views say when it is done. */
    private static final ProposalListener IGNORE = new ProposalListener() {
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
