package io.flotilla.engine.service;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.Busy;
import io.flotilla.kv.proto.ClusterMismatch;
import io.flotilla.kv.proto.EpochMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.Internal;
import io.flotilla.kv.proto.KeyNotInRange;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.NotLeader;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeNotFound;
import io.flotilla.kv.proto.Timeout;
import io.flotilla.kv.proto.TooLarge;
import io.flotilla.kv.proto.Unavailable;

/**
 * The typed errors the client service answers with, each with a message that says what happened and
 * what to do. Stateless; any thread.
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

    static Error epochMismatch(RangeDescriptor current, long requestEpoch) {
        return Error.newBuilder()
                .setMessage("range " + current.getRangeId() + " is at epoch " + current.getEpoch() + ", the request routed by"
                        + " epoch " + requestEpoch + ": update the route from the descriptors here and retry")
                .setEpochMismatch(EpochMismatch.newBuilder().addRanges(current))
                .build();
    }

    static Error keyNotInRange(RangeDescriptor range, ByteString key) {
        return Error.newBuilder()
                .setMessage("key " + printable(key) + " is not in range " + range.getRangeId() + " ["
                        + printable(range.getStartKey()) + ", " + (range.getEndKey().isEmpty() ? "end" : printable(range.getEndKey()))
                        + "): refresh the route and retry")
                .setKeyNotInRange(KeyNotInRange.newBuilder().setRange(range))
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

    static Error busy(int retryAfterMs, String why) {
        return Error.newBuilder()
                .setMessage(why + ": retry in " + retryAfterMs + " ms")
                .setBusy(Busy.newBuilder().setRetryAfterMs(retryAfterMs))
                .build();
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

    static Error internal(String message) {
        return Error.newBuilder().setMessage(message).setInternal(Internal.getDefaultInstance()).build();
    }

    /** A key for a message: UTF-8 text if it is printable ASCII, else hex; long keys are cut. */
    static String printable(ByteString key) {
        int n = Math.min(key.size(), 64);
        boolean text = true;
        for (int i = 0; i < n && text; i++) {
            int b = key.byteAt(i) & 0xff;
            text = b >= 0x20 && b < 0x7f;
        }
        StringBuilder s = new StringBuilder();
        if (text) {
            s.append('"').append(key.substring(0, n).toStringUtf8()).append('"');
        } else {
            s.append("0x");
            for (int i = 0; i < n; i++) {
                s.append(String.format("%02x", key.byteAt(i) & 0xff));
            }
        }
        if (key.size() > n) {
            s.append("... (").append(key.size()).append(" bytes)");
        }
        return s.toString();
    }
}
