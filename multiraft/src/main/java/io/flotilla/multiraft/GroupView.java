package io.flotilla.multiraft;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Role;

/**
 * What other threads may know about one replica hosted on this node: the leader it follows, its
 * term, commit and applied index, and whether it leads. Written only by the worker that owns the
 * group, after every Ready it handles for it; read from any thread (the node's client service, its
 * status page). The fields are read one by one, so they may be a round apart from each other and a
 * round behind the replica; they are hints for routing and status, never a basis for a decision
 * that needs Raft's guarantees (a read still goes through {@link MultiRaftNode#read}, a write
 * through {@link MultiRaftNode#propose}).
 */
public final class GroupView {
    private final long groupId;
    private volatile long leaderNodeId;
    private volatile long term;
    private volatile long commitIndex;
    private volatile long appliedIndex;
    private volatile boolean leading;
    private volatile ConfState membership = ConfState.EMPTY;

    GroupView(long groupId) {
        this.groupId = groupId;
    }

    /** The owning worker: copies what the replica's Raft node says now. */
    void publish(RaftNode node) {
        leaderNodeId = node.leader();
        term = node.term();
        commitIndex = node.commitIndex();
        appliedIndex = node.appliedIndex();
        leading = node.role() == Role.LEADER;
        membership = node.confState();
    }

    public long groupId() {
        return groupId;
    }

    /** The leader node the replica knows of, 0 if none. */
    public long leaderNodeId() {
        return leaderNodeId;
    }

    public long term() {
        return term;
    }

    public long commitIndex() {
        return commitIndex;
    }

    public long appliedIndex() {
        return appliedIndex;
    }

    /** The voters and learners as this replica last applied them. */
    public ConfState membership() {
        return membership;
    }

    /** Whether this node's replica leads the group. */
    public boolean leading() {
        return leading;
    }
}
