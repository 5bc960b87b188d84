package io.flotilla.multiraft;

import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Message;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * What other threads hand a worker through its inbox. Each command is created on the caller's
 * thread and read only by the worker thread after the queue hands it over.
 */
sealed interface WorkerCommand {
    /** Messages from a peer for groups of this worker. */
    record Inbound(List<Message> messages) implements WorkerCommand {
    }

    record Propose(long groupId, byte[] data, ProposalListener listener) implements WorkerCommand {
    }

    /** {@code leaseAllowed}: the leader may answer from its lease, without a heartbeat round. */
    record Read(long groupId, ReadListener listener, boolean leaseAllowed) implements WorkerCommand {
    }

    /**
     * Host a replica; bootstrap it with {@code voters} if the log has none (an empty array: join
     * later). With {@code rejoin} (joining only), a replica this node removed before comes back.
     */
    record CreateGroup(long groupId, long[] voters, boolean campaign, boolean rejoin) implements WorkerCommand {
    }

    record Campaign(long groupId) implements WorkerCommand {
    }

    record Destroy(long groupId) implements WorkerCommand {
    }

    record ChangeMembership(long groupId, ConfChange change, ProposalListener listener) implements WorkerCommand {
    }

    record TransferLeader(long groupId, long target, ProposalListener listener) implements WorkerCommand {
    }

    /**
     * Node {@code leaderNode} said (in its node heartbeat) that its replica of the group stopped
     * leading for good (destroyed or removed): a quiescent follower must not wait for it.
     */
    record LeaderResigned(long groupId, long leaderNode) implements WorkerCommand {
    }

    /** Reports the replica's health ({@link ReplicaReport}); completes with null if this worker does not host it. */
    record Explain(long groupId, CompletableFuture<ReplicaReport> answer) implements WorkerCommand {
    }

    /** Answers a command that no worker will carry out (the node stopped) with a typed failure. */
    static void refuse(WorkerCommand command) {
        if (command instanceof Propose p) {
            p.listener().onRefused(p.groupId(), io.flotilla.raft.ProposeResult.NODE_STOPPED, 0);
        } else if (command instanceof Read r) {
            r.listener().onFailed(r.groupId());
        } else if (command instanceof ChangeMembership c) {
            c.listener().onRefused(c.groupId(), io.flotilla.raft.ProposeResult.NODE_STOPPED, 0);
        } else if (command instanceof TransferLeader t) {
            t.listener().onRefused(t.groupId(), io.flotilla.raft.ProposeResult.NODE_STOPPED, 0);
        } else if (command instanceof Explain e) {
            e.answer().completeExceptionally(new IllegalStateException("the node is stopping"));
        }
        // Messages, creation, removal and campaigns have no caller waiting.
    }
}
