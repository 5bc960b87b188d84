package io.flotilla.engine.service;

import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;

/**
 * A move's step on the range's leader replica, as {@link MoveService#step} takes it: the decision
 * {@link MovePlan} makes from what the leader's {@link GroupView} shows, and the one runtime call
 * that carries it out. Public so that the deterministic simulation drives the same code on its
 * clock. Stateless; called on the thread that asks (a connection's event loop, the simulation's).
 */
public final class MoveLeaderStep {
    private MoveLeaderStep() {
    }

    /**
     * The step due for moving the range of {@code view} (this node's replica, which leads it, on
     * node {@code leaderNodeId}) from node {@code from} to node {@code to}.
     */
    public static MovePlan.Decision decide(GroupView view, long leaderNodeId, long from, long to) {
        long laggingVoter = 0;
        long laggingMatch = Long.MAX_VALUE;
        for (long v : view.membership().voters()) {
            long match = view.voterMatchIndex(v);
            if (v != leaderNodeId && v != from && match < laggingMatch) {
                laggingVoter = v;
                laggingMatch = match;
            }
        }
        return MovePlan.next(view.membership(), leaderNodeId, from, to, view.learnerMatchIndex(to), view.commitIndex(),
                view.appliedIndex(), laggingMatch, laggingVoter, heir(view, from, to));
    }

    /**
     * The voter a leaving leader hands its leadership to: the one that holds the most of its log,
     * preferring one that held the range before the move over the target on a tie. Proposals are
     * refused from the transfer's start until the heir wins its election, and the heir campaigns
     * only once it holds the whole log; the target has just caught up from a snapshot, and its
     * store is still taking the image in, so an older voter usually gets there sooner.
     */
    private static long heir(GroupView view, long from, long to) {
        long heir = to;
        long heirMatch = view.voterMatchIndex(to);
        for (long v : view.membership().voters()) {
            long match = view.voterMatchIndex(v);
            if (v != from && v != to && match >= heirMatch) {
                heir = v;
                heirMatch = match;
            }
        }
        return heir;
    }

    /**
     * Takes {@code decision} on {@code runtime}'s replica of {@code groupId}: proposes its membership
     * change or starts its leader transfer, answering {@code listener}. Returns false, calling
     * nothing, if the decision is only a report (catching up, done, failed).
     */
    public static boolean take(MultiRaftNode runtime, long groupId, MovePlan.Decision decision, ProposalListener listener) {
        if (decision.change() != null) {
            runtime.changeMembership(groupId, decision.change(), listener);
            return true;
        }
        if (decision.transferTo() != 0) {
            runtime.transferLeader(groupId, decision.transferTo(), listener);
            return true;
        }
        return false;
    }
}
