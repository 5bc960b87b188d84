package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Node-level liveness, which lets quiescent groups stop heartbeating: worker 0 sends one heartbeat
 * per peer node per tick (on the reserved group {@link #GROUP_ID}, never routed to a group), and
 * any batch received from a node counts as hearing from it. A worker wakes the sleeping followers
 * of a leader whose node has been silent for an election timeout. Written by transport threads,
 * read by workers: lock-free.
 */
final class NodeLiveness {
    /** The reserved group id of node heartbeats; user groups are below it. */
    static final long GROUP_ID = Long.MAX_VALUE;

    private final long selfId;
    private final ConcurrentHashMap<Long, AtomicLong> lastHeardNs = new ConcurrentHashMap<>();

    private final LongSupplier clockNs;

    NodeLiveness(long selfId, LongSupplier clockNs) {
        this.selfId = selfId;
        this.clockNs = clockNs;
    }

    /** A node that hosts replicas of our groups; presumed alive from now on until it goes silent. */
    void addPeer(long nodeId) {
        if (nodeId != selfId) {
            lastHeardNs.putIfAbsent(nodeId, new AtomicLong(clockNs.getAsLong()));
        }
    }

    /**
     * A batch arrived from {@code nodeId}. A node we had not known (this node joined its groups
     * later, without their initial membership) becomes a peer: otherwise the followers of its
     * leaders would never sleep, would time out while those leaders sleep, and would campaign
     * in vain (found by the membership-change test).
     */
    void heardFrom(long nodeId, long nowNs) {
        if (nodeId == selfId) {
            return;
        }
        AtomicLong last = lastHeardNs.get(nodeId);
        if (last == null) {
            last = lastHeardNs.computeIfAbsent(nodeId, id -> new AtomicLong());
        }
        last.lazySet(nowNs);
    }

    /** True if {@code nodeId} is a known peer heard from within {@code windowNs}. */
    boolean heardWithin(long nodeId, long nowNs, long windowNs) {
        AtomicLong last = lastHeardNs.get(nodeId);
        return last != null && nowNs - last.get() < windowNs;
    }

    /** One heartbeat per known peer (worker 0's thread, once per tick). */
    List<Message> heartbeats() {
        List<Message> out = new ArrayList<>(lastHeardNs.size());
        for (Long peer : lastHeardNs.keySet()) {
            out.add(new Message(MessageType.HEARTBEAT, GROUP_ID, selfId, peer, 0));
        }
        return out;
    }
}
