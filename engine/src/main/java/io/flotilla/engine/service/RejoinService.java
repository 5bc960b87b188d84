package io.flotilla.engine.service;

import io.flotilla.kv.proto.RejoinReplicaRequest;
import io.flotilla.kv.proto.RejoinReplicaResponse;
import io.flotilla.kv.proto.RejoinStep;
import io.flotilla.kv.proto.Response;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.ConfChangeType;
import io.flotilla.raft.ConfState;

/**
 * The leader's side of a node rejoining a range after it lost its data directory. The node's old
 * replica made promises (votes, acknowledged entries) its new, empty one cannot keep, so the new one
 * must not simply take the old one's place: the old replica is removed from the group, the new one
 * added as a learner (it asks for a snapshot: it holds nothing), and promoted to voter once it
 * installed one — the way etcd replaces a member that lost its data. Each request takes the one step
 * the current membership calls for, so repeating a request (the node does, until DONE) is safe, and a
 * rejoin that a crash interrupted anywhere goes on from where the membership stands.
 *
 * <p>While the old replica is removed and the new one not yet a voter, the range has one voter fewer:
 * a three-replica range then needs both others up to commit.
 */
final class RejoinService {
    private final MultiRaftNode runtime;
    private final LeaderHints hints;

    RejoinService(MultiRaftNode runtime, LeaderHints hints) {
        this.runtime = runtime;
        this.hints = hints;
    }

    void rejoin(long groupId, RejoinReplicaRequest request, Reply reply) {
        GroupView view = runtime.groupView(groupId);
        if (view == null || !view.leading()) {
            reply.fail(hints.notLeader(groupId, 0));
            return;
        }
        long node = request.getNodeId();
        boolean holdsState = request.getAppliedIndex() > 0;
        ConfState members = view.membership();
        ConfChangeType change;
        RejoinStep step;
        if (members.isVoter(node)) {
            if (holdsState) {
                reply.send(answer(RejoinStep.DONE));
                return;
            }
            // A voter with nothing is the old replica's slot: the new replica never became a voter without state.
            change = ConfChangeType.REMOVE_NODE;
            step = RejoinStep.REMOVING_OLD_REPLICA;
        } else if (members.isLearner(node)) {
            if (!holdsState) {
                reply.send(answer(RejoinStep.AWAITING_SNAPSHOT));
                return;
            }
            change = ConfChangeType.PROMOTE_LEARNER;
            step = RejoinStep.PROMOTING;
        } else {
            change = ConfChangeType.ADD_LEARNER;
            step = RejoinStep.ADDING_LEARNER;
        }
        runtime.changeMembership(groupId, new ConfChange(change, node),
                new MembershipStepListener(reply, hints, "rejoin " + step, () -> answer(step)));
    }

    private static Response.Builder answer(RejoinStep step) {
        return Response.newBuilder().setRejoinReplica(RejoinReplicaResponse.newBuilder().setStep(step));
    }
}
