package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReadConsistency;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ReadListener;
import io.flotilla.router.KeySpace;

/**
 * Reads, by consistency level:
 * <ul>
 *   <li>LINEARIZABLE: the runtime's ReadIndex ({@link MultiRaftNode#read}; reads queued in one round
 *       share one heartbeat round, and a follower's read is confirmed through its leader), then the
 *       state machine once it has applied the read point.</li>
 *   <li>LEASE: {@link MultiRaftNode#leaseRead}: a leader holding its lease answers at once, without
 *       a heartbeat round (linearizable as long as clocks drift less than the lease's bound); a
 *       leader without one, or a follower, takes the LINEARIZABLE path. A replica that sleeps
 *       (quiescence) drops its lease, since its tick-counted lease would otherwise outlive the
 *       sleep.</li>
 *   <li>FOLLOWER: served at once from this replica's applied state (serializable, possibly stale);
 *       the response says the index it read at.</li>
 * </ul>
 * A get is served on the worker thread in {@code onReadable}; a scan, which may read up to a page
 * of 16 MiB, is handed to the connection's event loop so that it never holds up a worker's other
 * groups (reading later than the read point is still linearizable: the state only moves forward).
 * Any thread may start a read.
 */
final class ReadPath {
    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final LeaderHints hints;

    ReadPath(MultiRaftNode runtime, KvStateMachine stateMachine, LeaderHints hints) {
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.hints = hints;
    }

    /** A get of {@code range} (as the request was checked against it). */
    void get(RangeDescriptor range, GetRequest get, ReadConsistency consistency, Reply reply) {
        long groupId = range.getRangeId();
        if (consistency == ReadConsistency.FOLLOWER) {
            answer(reply, groupId, stateMachine.get(groupId, get.getKey(), range.getEpoch()));
        } else {
            // Served in onReadable, on the group's worker.
            Runnable serve = () -> answer(reply, groupId, stateMachine.getOnWorker(groupId, get.getKey(), range.getEpoch()));
            start(groupId, consistency, new Listener(reply, serve, false));
        }
    }

    void scan(RangeDescriptor range, ScanRequest scan, ReadConsistency consistency, Reply reply) {
        long groupId = range.getRangeId();
        ScanRequest bounded = scan.getStartKey().isEmpty() ? scan.toBuilder().setStartKey(range.getStartKey()).build() : scan;
        Runnable serve = () -> answer(reply, groupId, scan(groupId, range.getEpoch(), bounded));
        if (consistency == ReadConsistency.FOLLOWER) {
            serve.run();
        } else {
            start(groupId, consistency, new Listener(reply, serve, true));
        }
    }

    private void start(long groupId, ReadConsistency consistency, Listener listener) {
        if (consistency == ReadConsistency.LEASE) {
            runtime.leaseRead(groupId, listener);
        } else {
            runtime.read(groupId, listener);
        }
    }

    private Response.Builder scan(long groupId, long epoch, ScanRequest scan) {
        if (!scan.getEndKey().isEmpty() && KeySpace.compare(scan.getEndKey(), scan.getStartKey()) <= 0) {
            GroupView view = runtime.groupView(groupId);
            return Response.newBuilder().setScan(ScanResponse.newBuilder().setReadAtIndex(view == null ? 0 : view.appliedIndex()));
        }
        return stateMachine.scan(groupId, scan, epoch);
    }

    /** The read's answer; a replica whose state went away meanwhile (removed, destroyed) has none to give. */
    private static void answer(Reply reply, long groupId, Response.Builder response) {
        if (response == null) {
            reply.fail(KvErrors.rangeNotFound(groupId));
        } else {
            reply.send(response);
        }
    }

    /** One read's answer from the runtime; called once, on the group's worker thread. */
    private final class Listener implements ReadListener {
        private final Reply reply;
        private final Runnable serve;
        private final boolean offWorker;

        Listener(Reply reply, Runnable serve, boolean offWorker) {
            this.reply = reply;
            this.serve = serve;
            this.offWorker = offWorker;
        }

        @Override
        public void onReadable(long groupId) {
            if (reply.answered()) {
                return;
            }
            if (offWorker) {
                try {
                    reply.eventLoop().execute(serve);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    // The client service shut down: the connection is gone, nobody to answer.
                }
            } else {
                serve.run();
            }
        }

        @Override
        public void onFailed(long groupId) {
            reply.fail(hints.notLeader(groupId, 0));
        }

        @Override
        public void onBusy(long groupId) {
            reply.fail(KvErrors.busy(WritePath.RETRY_AFTER_MS, "the worker of range " + groupId + " is overloaded"));
        }
    }
}
