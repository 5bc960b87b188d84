package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Node-level liveness, which lets quiescent groups stop heartbeating: worker 0 sends one heartbeat
 * per peer node every quarter election timeout (on the reserved group {@link #GROUP_ID}, never
 * routed to a group), and any batch received from a node counts as hearing from it. A worker wakes
 * the sleeping followers of a leader whose node has been silent for an election timeout.
 *
 * <p>A node that lives on while one of its leader replicas goes away (destroyed, or removed by a
 * membership change it applied) would keep those followers asleep for ever: so for two election
 * timeouts after such a resignation, each heartbeat is followed by one more per resigned group,
 * naming it in {@link Message#context}; the receiving node wakes that group's followers of this
 * node. If those heartbeats are all lost, the followers still wake once this node goes silent.
 *
 * <p>Written by transport and worker threads, read by workers: lock-free.
 */
final class NodeLiveness {
    /** The reserved group id of node heartbeats; user groups are below it. */
    static final long GROUP_ID = Long.MAX_VALUE;

    private final long selfId;
    private final LongSupplier clockNs;
    private final long resignationTtlNs;
    private final ConcurrentHashMap<Long, AtomicLong> lastHeardNs = new ConcurrentHashMap<>();
    /** Groups whose leader replica here went away, with when (clock ns); announced until the TTL passes. */
    private final ConcurrentHashMap<Long, Long> resignedAtNs = new ConcurrentHashMap<>();

    NodeLiveness(long selfId, LongSupplier clockNs, long resignationTtlNs) {
        this.selfId = selfId;
        this.clockNs = clockNs;
        this.resignationTtlNs = resignationTtlNs;
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

    /** A worker: this node's leader replica of {@code groupId} went away for good. */
    void resigned(long groupId) {
        resignedAtNs.put(groupId, clockNs.getAsLong());
    }

    /** Worker 0's thread: one heartbeat per known peer, plus one per recently resigned group. */
    List<Message> heartbeats() {
        long now = clockNs.getAsLong();
        List<Long> resigned = List.of();
        if (!resignedAtNs.isEmpty()) {
            resigned = new ArrayList<>();
            for (Iterator<Map.Entry<Long, Long>> it = resignedAtNs.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Long, Long> e = it.next();
                if (now - e.getValue() > resignationTtlNs) {
                    it.remove();
                } else {
                    resigned.add(e.getKey());
                }
            }
        }
        List<Message> out = new ArrayList<>(lastHeardNs.size() * (1 + resigned.size()));
        for (Long peer : lastHeardNs.keySet()) {
            out.add(new Message(MessageType.HEARTBEAT, GROUP_ID, selfId, peer, 0));
            for (Long groupId : resigned) {
                Message m = new Message(MessageType.HEARTBEAT, GROUP_ID, selfId, peer, 0);
                m.context = groupId;
                out.add(m);
            }
        }
        return out;
    }
}
