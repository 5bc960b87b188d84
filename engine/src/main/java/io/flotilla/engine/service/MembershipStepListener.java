package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.kv.proto.Response;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;
import java.util.function.Supplier;

/**
 * Answers an admin request that took one membership step (a rejoin's or a move's): with
 * {@code answer} once the step applied, and otherwise with the error that tells the asker what to
 * do — every such step is taken only if the membership still calls for it, so the answer to most
 * failures is "ask again". On the group's worker thread.
 */
final class MembershipStepListener implements ProposalListener {
    private final Reply reply;
    private final LeaderHints hints;
    private final String step;
    private final Supplier<Response.Builder> answer;

    MembershipStepListener(Reply reply, LeaderHints hints, String step, Supplier<Response.Builder> answer) {
        this.reply = reply;
        this.hints = hints;
        this.step = step;
        this.answer = answer;
    }

    @Override
    public void onApplied(long groupId, long index) {
        reply.send(answer.get());
    }

    @Override
    public void onRefused(long groupId, ProposeResult result, long leaderHint) {
        switch (result) {
            case NOT_LEADER -> reply.fail(hints.notLeader(groupId, leaderHint));
            case NODE_STOPPED -> reply.fail(Errors.unavailable("this node is stopping: retry with another replica"));
            // Pending: another change is committing; invalid: the membership moved since this node last saw it.
            default -> reply.fail(KvErrors.busy(WritePath.RETRY_AFTER_MS, "range " + groupId + " could not take the"
                    + " step " + step + " now (" + result + "): ask again"));
        }
    }

    @Override
    public void onOutcomeUnknown(long groupId, long index) {
        reply.fail(Errors.timeout("range " + groupId + " lost track of the step " + step + " at index " + index
                + ": ask again (each step is taken only if the membership still calls for it)"));
    }

    @Override
    public void onBusy(long groupId) {
        reply.fail(KvErrors.busy(WritePath.RETRY_AFTER_MS, "the worker of range " + groupId + " is overloaded"));
    }
}
