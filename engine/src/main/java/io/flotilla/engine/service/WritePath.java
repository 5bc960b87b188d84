package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.ProposalListener;
import io.flotilla.raft.ProposeResult;

/**
 * Writes: proposes a validated {@link WriteCommand} to its range's group and answers the client
 * with what the runtime says became of it. The listener runs on the group's worker thread and only
 * takes the applied result and queues the response on the connection ({@link Reply}). Any thread
 * may call {@link #propose}.
 *
 * <p>Answers: applied → the state machine's result for that index (a retried sequence gets its first
 * result, from the session table); refused as not leader → NotLeader with the leader's address;
 * outcome unknown → Timeout saying so (the client retries with the same sequence, which its session
 * makes safe); the worker's queue full, or the group's uncommitted log at its cap, or a leader
 * transfer under way → Busy; an entry larger than a log record → TooLarge; the node stopping →
 * Unavailable.
 */
final class WritePath {
    /** What a Busy answer asks the client to wait before retrying. */
    static final int RETRY_AFTER_MS = 20;

    private final MultiRaftNode runtime;
    private final KvStateMachine stateMachine;
    private final LeaderHints hints;
    /** The largest command one log entry holds (the log's record size, less its framing). */
    private final int maxEntryBytes;

    WritePath(MultiRaftNode runtime, KvStateMachine stateMachine, LeaderHints hints, int maxEntryBytes) {
        this.runtime = runtime;
        this.stateMachine = stateMachine;
        this.hints = hints;
        this.maxEntryBytes = maxEntryBytes;
    }

    void propose(long groupId, WriteCommand command, Reply reply) {
        byte[] bytes = command.toByteArray();
        if (bytes.length > maxEntryBytes) {
            reply.fail(Errors.tooLarge("entry", bytes.length, maxEntryBytes, "the write's log entry"));
            return;
        }
        runtime.propose(groupId, bytes, new Listener(reply, bytes.length));
    }

    /** One proposal's fate; called once, on the group's worker thread. */
    private final class Listener implements ProposalListener {
        private final Reply reply;
        private final int commandBytes;

        Listener(Reply reply, int commandBytes) {
            this.reply = reply;
            this.commandBytes = commandBytes;
        }

        @Override
        public void onApplied(long groupId, long index) {
            WriteResult result = stateMachine.takeResult(groupId, index);
            if (result == null) {
                reply.fail(KvErrors.internal("range " + groupId + " applied the write at index " + index
                        + " but has no result for it; this is a bug in the node: report it"));
                return;
            }
            reply.send(WriteCommands.response(result));
        }

        @Override
        public void onRefused(long groupId, ProposeResult result, long leaderHint) {
            switch (result) {
                case NOT_LEADER:
                    reply.fail(hints.notLeader(groupId, leaderHint));
                    return;
                case LEADER_TRANSFERRING:
                    reply.fail(KvErrors.busy(RETRY_AFTER_MS, "range " + groupId + " is handing its leadership to another node"));
                    return;
                case UNCOMMITTED_LIMIT:
                    reply.fail(KvErrors.busy(RETRY_AFTER_MS, "range " + groupId + " has too many uncommitted writes"));
                    return;
                case ENTRY_TOO_LARGE:
                    reply.fail(Errors.tooLarge("entry", commandBytes, maxEntryBytes, "the write's log entry"));
                    return;
                case NODE_STOPPED:
                    reply.fail(Errors.unavailable("this node is stopping or has stopped: retry with another replica"));
                    return;
                default:
                    reply.fail(KvErrors.internal("range " + groupId + " refused the write (" + result + ")"));
            }
        }

        @Override
        public void onOutcomeUnknown(long groupId, long index) {
            reply.fail(Errors.timeout("range " + groupId + " lost track of the write at index " + index
                    + " (leadership changed): it may or may not apply. Retry with the same client id and sequence;"
                    + " the session answers a retry of an applied write with its first result"));
        }

        @Override
        public void onBusy(long groupId) {
            reply.fail(KvErrors.busy(RETRY_AFTER_MS, "the worker of range " + groupId + " is overloaded"));
        }
    }
}
