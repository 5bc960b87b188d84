package io.flotilla.engine.service;

import io.flotilla.kv.proto.Error;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;

/**
 * Turns "this replica cannot serve it" into the most useful error: NotLeader naming the leader this
 * node's replica knows (and its client address), or Unavailable when there is none to name. Any
 * thread (it reads the runtime's published {@link GroupView}).
 */
final class LeaderHints {
    private final long nodeId;
    private final MultiRaftNode runtime;
    private final ClusterDirectory directory;

    LeaderHints(long nodeId, MultiRaftNode runtime, ClusterDirectory directory) {
        this.nodeId = nodeId;
        this.runtime = runtime;
        this.directory = directory;
    }

    /** The leader as {@code hint} (0: as this node's replica knows it) says. */
    Error notLeader(long groupId, long hint) {
        long leader = hint != 0 ? hint : knownLeader(groupId);
        if (leader == nodeId) {
            return Errors.unavailable("range " + groupId + " could not serve the request through its leader on this node"
                    + " (leadership is changing or no quorum answered): retry shortly");
        }
        return Errors.notLeader(groupId, leader, directory.address(leader));
    }

    /** The leader this node's replica of {@code groupId} knows of, or 0. */
    long knownLeader(long groupId) {
        GroupView view = runtime.groupView(groupId);
        return view == null ? 0 : view.leaderNodeId();
    }
}
