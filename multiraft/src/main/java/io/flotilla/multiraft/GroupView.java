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
    /** On a leader with learners: node id and match index of each learner, in pairs; empty otherwise. */
    private volatile long[] learnerMatch = NONE;
    /** On a leader with learners: node id and match index of each other voter, in pairs; empty otherwise. */
    private volatile long[] voterMatch = NONE;
    private static final long[] NONE = new long[0];

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
        ConfState conf = node.confState();
        membership = conf;
        // Learners exist only while a replica is added (a move, a rejoin): the copy is rare.
        if (leading && conf.learners().length > 0) {
            long[] learners = conf.learners();
            long[] match = new long[2 * learners.length];
            for (int i = 0; i < learners.length; i++) {
                match[2 * i] = learners[i];
                match[2 * i + 1] = node.matchIndex(learners[i]);
            }
            learnerMatch = match;
            long[] voters = conf.voters();
            long[] votersMatch = new long[2 * voters.length];
            for (int i = 0; i < voters.length; i++) {
                votersMatch[2 * i] = voters[i];
                votersMatch[2 * i + 1] = voters[i] == node.id() ? node.lastIndex() : node.matchIndex(voters[i]);
            }
            voterMatch = votersMatch;
        } else if (learnerMatch.length > 0) {
            learnerMatch = NONE;
            voterMatch = NONE;
        }
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

    /**
     * On a leader: the last entry it knows learner {@code nodeId} holds (0 if none yet: it awaits a
     * snapshot); 0 on a follower or for a node that is not a learner.
     */
    public long learnerMatchIndex(long nodeId) {
        long[] match = learnerMatch;
        for (int i = 0; i < match.length; i += 2) {
            if (match[i] == nodeId) {
                return match[i + 1];
            }
        }
        return 0;
    }

    /**
     * On a leader with learners (a replica being added): the last entry it knows voter
     * {@code nodeId} holds (its own last index for itself); 0 otherwise (no learners, a follower,
     * or a node that is not a voter).
     */
    public long voterMatchIndex(long nodeId) {
        long[] match = voterMatch;
        for (int i = 0; i < match.length; i += 2) {
            if (match[i] == nodeId) {
                return match[i + 1];
            }
        }
        return 0;
    }

    /** Whether this node's replica leads the group. */
    public boolean leading() {
        return leading;
    }
}
