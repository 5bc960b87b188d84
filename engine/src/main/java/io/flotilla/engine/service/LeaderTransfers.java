package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.TransferLeaderRequest;
import io.flotilla.kv.proto.TransferLeaderResponse;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import java.util.Arrays;

/**
 * The leader's side of an operator moving a range's leadership ({@code flotilla transfer-leader}):
 * checks that the target is one of the range's voters and asks the Raft core to hand over (it
 * brings the target's log up to date, then tells it to campaign at once). Answered once the
 * transfer has begun; a target that is down or far behind never takes over, and the leader
 * resumes after an election timeout. Called on a connection's event loop; answers from the worker.
 */
final class LeaderTransfers {
    private final long nodeId;
    private final MultiRaftNode runtime;
    private final LeaderHints hints;

    LeaderTransfers(long nodeId, MultiRaftNode runtime, LeaderHints hints) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.hints = hints;
    }

    void transfer(long groupId, TransferLeaderRequest request, Reply reply) {
        GroupView view = runtime.groupView(groupId);
        if (view == null || !view.leading()) {
            reply.fail(hints.notLeader(groupId, view == null ? 0 : view.leaderNodeId()));
            return;
        }
        long target = request.getTargetNodeId();
        if (target == nodeId) {
            reply.send(answer());
            return;
        }
        if (!view.membership().isVoter(target)) {
            reply.fail(KvErrors.invalidArgument("node " + target + " is not a voter of range " + groupId + " (its voters: "
                    + Arrays.toString(view.membership().voters()) + "): leadership goes only to a voter"));
            return;
        }
        runtime.transferLeader(groupId, target, new ProposalListener() {
            @Override
            public void onApplied(long group, long index) {
                reply.send(answer());
            }

            @Override
            public void onRefused(long group, ProposeResult result, long leaderHint) {
                if (result == ProposeResult.NODE_STOPPED) {
                    reply.fail(Errors.unavailable("node " + nodeId + " is stopping: ask the range's next leader"));
                } else {
                    reply.fail(hints.notLeader(group, leaderHint));
                }
            }

            @Override
            public void onOutcomeUnknown(long group, long index) {
                reply.fail(Errors.timeout("range " + group + " lost track of the leadership transfer: ask again"));
            }

            @Override
            public void onBusy(long group) {
                reply.fail(KvErrors.busy(WritePath.RETRY_AFTER_MS, "the worker of range " + group + " is overloaded"));
            }
        });
    }

    private Response.Builder answer() {
        return Response.newBuilder().setTransferLeader(TransferLeaderResponse.newBuilder().setFromNodeId(nodeId));
    }
}
