package io.flotilla.engine.service;

import io.flotilla.engine.kv.KvErrors;
import io.flotilla.kv.proto.ClusterMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.NotLeader;
import io.flotilla.kv.proto.RangeNotFound;
import io.flotilla.kv.proto.Timeout;
import io.flotilla.kv.proto.TooLarge;
import io.flotilla.kv.proto.Unavailable;

/**
 * The typed errors only the client service answers with, each with a message that says what happened
 * and what to do; those the state machine answers too (epoch, range, busy, internal) are in
 * {@link KvErrors}. Stateless; any thread.
 */
final class Errors {
    private Errors() {
    }

    static Error clusterMismatch(long nodeClusterId, long requestClusterId) {
        return Error.newBuilder()
                .setMessage("this node belongs to cluster " + nodeClusterId + ", the request was for cluster "
                        + requestClusterId + ": point the client at a node of its own cluster")
                .setClusterMismatch(ClusterMismatch.newBuilder().setNodeClusterId(nodeClusterId))
                .build();
    }

    static Error rangeNotFound(long nodeId, long rangeId) {
        return Error.newBuilder()
                .setMessage("node " + nodeId + " has no replica of range " + rangeId + ": refresh the route and retry")
                .setRangeNotFound(RangeNotFound.getDefaultInstance())
                .build();
    }

    static Error notLeader(long groupId, long leaderNodeId, NodeAddress leader) {
        Error.Builder e = Error.newBuilder();
        NotLeader.Builder hint = NotLeader.newBuilder().setLeaderNodeId(leaderNodeId);
        if (leader != null) {
            hint.setLeader(leader);
            e.setMessage("this node does not lead range " + groupId + "; node " + leaderNodeId + " at " + leader.getHost()
                    + ":" + leader.getClientPort() + " does: retry there");
        } else {
            e.setMessage("this node does not lead range " + groupId + " and knows no leader yet (an election may be under"
                    + " way): retry shortly, or with another replica");
        }
        return e.setNotLeader(hint).build();
    }

    static Error tooLarge(String limit, long size, long max, String what) {
        return Error.newBuilder()
                .setMessage(what + " is " + size + " bytes, over the " + limit + " limit of " + max + ": make it smaller")
                .setTooLarge(TooLarge.newBuilder().setLimit(limit).setSize(size).setMax(max))
                .build();
    }

    static Error timeout(String message) {
        return Error.newBuilder().setMessage(message).setTimeout(Timeout.getDefaultInstance()).build();
    }

    static Error unavailable(String message) {
        return Error.newBuilder().setMessage(message).setUnavailable(Unavailable.getDefaultInstance()).build();
    }
}
