package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.raft.MessageType;
import java.util.ArrayList;
import java.util.List;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * A worker's outgoing messages for one round, gathered per destination node and handed to the
 * {@link PeerSender} once per node per flush, which the transport sends as one frame and one flush.
 * A leader's snapshot message does not go here directly: {@link SnapshotShipping} streams its image
 * first. Owned by the worker thread.
 */
final class Outbox {
    private final PeerSender sender;
    private final ReplicaSet replicas;
    private final SnapshotShipping shipping;
    private final WorkerStats stats;
    private final Long2ObjectHashMap<ArrayList<Message>> byNode = new Long2ObjectHashMap<>();

    Outbox(PeerSender sender, ReplicaSet replicas, SnapshotShipping shipping, WorkerStats stats) {
        this.sender = sender;
        this.replicas = replicas;
        this.shipping = shipping;
        this.stats = stats;
    }

    void queue(List<Message> messages) {
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.type == MessageType.SNAPSHOT) {
                shipping.startTransfer(m);
            } else {
                queue(m);
            }
        }
    }

    void queue(Message m) {
        ArrayList<Message> list = byNode.get(m.to);
        if (list == null) {
            list = new ArrayList<>();
            byNode.put(m.to, list);
        }
        list.add(m);
    }

    /** One send per destination node: the transport makes it one frame and one flush. */
    void flush() {
        for (Long2ObjectHashMap<ArrayList<Message>>.EntryIterator it = byNode.entrySet().iterator(); it.hasNext(); ) {
            it.next();
            ArrayList<Message> list = it.getValue();
            if (!list.isEmpty()) {
                long peer = it.getLongKey();
                stats.peerSends++;
                stats.peerMessagesSent += list.size();
                if (!sender.send(peer, list)) {
                    reportUnreachable(peer, list);
                }
                // The sender may keep the list until its frame is written: a fresh one for the next round.
                it.setValue(new ArrayList<>());
            }
        }
    }

    /** Messages dropped because the node is unreachable: its groups probe it instead of streaming appends. */
    private void reportUnreachable(long peer, List<Message> dropped) {
        for (int i = 0; i < dropped.size(); i++) {
            Replica r = replicas.get(dropped.get(i).groupId);
            if (r != null) {
                r.node.reportUnreachable(peer);
            }
        }
    }
}
