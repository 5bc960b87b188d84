package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.AddNodeRequest;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.HostReplicaRequest;
import io.flotilla.kv.proto.HostReplicaResponse;
import io.flotilla.kv.proto.MoveReplicaRequest;
import io.flotilla.kv.proto.MoveStep;
import io.flotilla.kv.proto.MoveStepRequest;
import io.flotilla.kv.proto.MoveStepResponse;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.UpdateSettingsRequest;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A node's parts in moving replicas between nodes (see MoveDriver, on the meta range's leader, for
 * the whole):
 * <ul>
 *   <li>as a range's leader, it takes the next step of a move ({@link #step}, decided by
 *       {@link MovePlan} from the range's membership, so asking again is always safe);</li>
 *   <li>as a move's target, it starts the empty replica that the range's leader fills by snapshot
 *       ({@link #host});</li>
 *   <li>as the meta range's leader, it checks a new move's nodes before the move is recorded
 *       ({@link #checkStart}) and lists the moves ({@link #list}).</li>
 * </ul>
 * Called on a connection's event loop; membership steps answer from the range's worker.
 */
final class MoveService implements AutoCloseable {
    /** How long a target waits for the replica it was asked to start to exist. */
    private static final long HOST_WAIT_MS = 2_000;
    private static final long HOST_POLL_MS = 10;
    /** When a target still dropping an old replica of the range asks to be asked again. */
    private static final int HOST_RETRY_MS = 500;

    private final long nodeId;
    private final MultiRaftNode runtime;
    private final LeaderHints hints;
    private final ClusterDirectory directory;
    private final MoveSources sources;
    private final KvStateMachine stateMachine;
    private ScheduledExecutorService hostChecks;

    MoveService(long nodeId, MultiRaftNode runtime, LeaderHints hints, ClusterDirectory directory,
            KvStateMachine stateMachine, MoveSources sources) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.hints = hints;
        this.directory = directory;
        this.sources = sources;
        this.stateMachine = stateMachine;
    }

    /** Null if both nodes of a move are nodes of the cluster; else the InvalidArgument to answer. */
    Error checkStart(MoveReplicaRequest move) {
        for (long node : new long[] {move.getFromNodeId(), move.getToNodeId()}) {
            if (directory.address(node) == null) {
                return KvErrors.invalidArgument("node " + node + " is not a node of this cluster (its nodes: "
                        + java.util.Arrays.toString(directory.nodeIds()) + ")");
            }
        }
        return null;
    }

    /**
     * Null if the settings change can be made; else the InvalidArgument to answer: a node to drain
     * must be a node of the cluster and leave at least three nodes that are not draining (its
     * replica of the meta range, if any, moves like the others).
     */
    Error checkSettings(UpdateSettingsRequest update, ClusterSettings current) {
        long drain = update.getDrainNodeId();
        if (drain == 0) {
            return null;
        }
        if (directory.address(drain) == null) {
            return KvErrors.invalidArgument("node " + drain + " is not a node of this cluster (its nodes: "
                    + java.util.Arrays.toString(directory.nodeIds()) + ")");
        }
        java.util.Set<Long> draining = new java.util.HashSet<>(current.getDrainingNodeIdsList());
        draining.add(drain);
        if (directory.nodeIds().length - draining.size() < io.flotilla.router.Placement.REPLICAS) {
            return KvErrors.invalidArgument("draining node " + drain + " would leave fewer than "
                    + io.flotilla.router.Placement.REPLICAS + " nodes for the ranges' replicas");
        }
        return null;
    }

    /** Null if {@code add} names a node with every address, not a configured node of another address; else the InvalidArgument. */
    Error checkAddNode(AddNodeRequest add) {
        NodeAddress node = add.getNode();
        if (node.getNodeId() <= 0 || node.getHost().isEmpty() || node.getClientPort() == 0 || node.getPeerPort() == 0
                || node.getSnapshotPort() == 0) {
            return KvErrors.invalidArgument("a node to add needs an id and every address (host, client, peer and"
                    + " snapshot ports); got " + node);
        }
        NodeAddress known = directory.address(node.getNodeId());
        if (known != null && !known.equals(node)) {
            return KvErrors.invalidArgument("node " + node.getNodeId() + " is a member already, at " + known.getHost() + ":"
                    + known.getClientPort() + ": a new node needs a new id");
        }
        return null;
    }

    /** The moves as this node's move driver knows them (only the meta range's leader drives any). */
    Response.Builder list() {
        return Response.newBuilder().setListMoves(sources.moves());
    }

    /** On the range's leader: takes the step {@link MovePlan} calls for, and answers where the move stands. */
    void step(long groupId, MoveStepRequest request, Reply reply) {
        GroupView view = runtime.groupView(groupId);
        if (view == null || !view.leading()) {
            reply.fail(hints.notLeader(groupId, view == null ? 0 : view.leaderNodeId()));
            return;
        }
        long from = request.getFromNodeId();
        long to = request.getToNodeId();
        long match = view.learnerMatchIndex(to);
        MovePlan.Decision decision = MoveLeaderStep.decide(view, nodeId, from, to);
        Supplier<Response.Builder> answer = () -> answer(groupId, decision, to, match, view.commitIndex());
        ProposalListener listener = decision.change() != null
                ? new MembershipStepListener(reply, hints, "move " + decision.step(), answer)
                : new TransferStarted(reply, answer);
        if (!MoveLeaderStep.take(runtime, groupId, decision, listener)) {
            reply.send(answer.get());
        }
    }

    private Response.Builder answer(long groupId, MovePlan.Decision decision, long to, long match, long commit) {
        MoveStepResponse.Builder step = MoveStepResponse.newBuilder().setStep(decision.step())
                .setTargetMatchIndex(match).setCommitIndex(commit).setMessage(decision.message());
        RangeDescriptor range = stateMachine.descriptor(groupId);
        if (range != null) {
            step.setRange(range);
        }
        if (decision.step() == MoveStep.MOVE_CATCHING_UP) {
            long[] sending = sources.snapshotProgress(to, groupId);
            if (sending != null) {
                step.setSnapshotBytesSent(sending[0]).setSnapshotBytesTotal(sending[1]);
            }
        }
        return Response.newBuilder().setMoveStep(step);
    }

    /**
     * On a move's target: starts an empty replica of the range (it joins the group once the leader
     * adds it, and catches up by snapshot), also where this node held the range before. Answers once
     * the replica exists; refused if the node would not start it (its worker is full, or its old
     * replica's removal is not durable yet: its log says which).
     */
    void host(HostReplicaRequest request, Reply reply) {
        RangeDescriptor range = request.getRange();
        long groupId = range.getRangeId();
        if (groupId <= 0) {
            reply.fail(KvErrors.invalidArgument("range " + groupId + " cannot be hosted by request"));
            return;
        }
        if (runtime.groupView(groupId) != null) {
            if (MovePlan.oldReplica(stateMachine.descriptor(groupId), nodeId, range)) {
                // The replica an earlier change took off this node is still here, not dropped yet. It
                // goes now; the new, empty replica starts when the move asks again.
                runtime.destroyReplica(groupId);
                reply.fail(KvErrors.busy(HOST_RETRY_MS, "node " + nodeId + " is dropping the replica of range "
                        + groupId + " that an earlier change removed; the new one starts next"));
                return;
            }
            reply.send(Response.newBuilder().setHostReplica(HostReplicaResponse.newBuilder().setAlreadyHosted(true)));
            return;
        }
        try {
            // Before the replica starts: a restart must host it again rather than take it for an orphan.
            sources.hosting(groupId);
        } catch (RuntimeException e) {
            reply.fail(KvErrors.internal("node " + nodeId + " could not record that it joins range " + groupId + ": " + e));
            return;
        }
        // A replica this node removed before may come back: the range's leader adds it next.
        if (!runtime.rejoinGroup(groupId)) {
            reply.fail(Errors.unavailable("node " + nodeId + " is stopping"));
            return;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(HOST_WAIT_MS);
        awaitHosted(groupId, deadline, reply);
    }

    private void awaitHosted(long groupId, long deadlineNs, Reply reply) {
        if (runtime.groupView(groupId) != null) {
            reply.send(Response.newBuilder().setHostReplica(HostReplicaResponse.getDefaultInstance()));
        } else if (System.nanoTime() - deadlineNs > 0) {
            reply.fail(KvErrors.invalidArgument("node " + nodeId + " did not start a replica of range " + groupId + ": it"
                    + " hosts as many ranges as it may (maxGroupsPerWorker), or its replica removed before is still"
                    + " being dropped; its log says which. Move the range to another node, or try again"));
        } else {
            hostChecks().schedule(() -> awaitHosted(groupId, deadlineNs, reply), HOST_POLL_MS, TimeUnit.MILLISECONDS);
        }
    }

    private synchronized ScheduledExecutorService hostChecks() {
        if (hostChecks == null) {
            hostChecks = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "flotilla-host-replica-" + nodeId);
                t.setDaemon(true);
                return t;
            });
        }
        return hostChecks;
    }

    @Override
    public synchronized void close() {
        if (hostChecks != null) {
            hostChecks.shutdownNow();
        }
    }

    /** Answers a leader transfer once it has begun (the next step finds out whether it finished). */
    private final class TransferStarted implements ProposalListener {
        private final Reply reply;
        private final Supplier<Response.Builder> answer;

        TransferStarted(Reply reply, Supplier<Response.Builder> answer) {
            this.reply = reply;
            this.answer = answer;
        }

        @Override
        public void onApplied(long groupId, long index) {
            reply.send(answer.get());
        }

        @Override
        public void onRefused(long groupId, ProposeResult result, long leaderHint) {
            reply.fail(result == ProposeResult.NODE_STOPPED ? Errors.unavailable("node " + nodeId + " is stopping")
                    : hints.notLeader(groupId, leaderHint));
        }

        @Override
        public void onOutcomeUnknown(long groupId, long index) {
            reply.send(answer.get());
        }

        @Override
        public void onBusy(long groupId) {
            reply.fail(KvErrors.busy(WritePath.RETRY_AFTER_MS, "the worker of range " + groupId + " is overloaded"));
        }
    }
}
