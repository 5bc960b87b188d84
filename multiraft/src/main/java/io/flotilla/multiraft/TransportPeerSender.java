package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.transport.PeerTransport;
import java.util.List;

/**
 * Connects a node's runtime to its Netty {@link PeerTransport}: workers' sends go to the transport,
 * and batches the transport receives go to the workers that own their groups. The transport reports
 * a dropped send on the sending worker's own thread, which this turns into {@code send}'s result.
 */
public final class TransportPeerSender implements PeerSender, PeerTransport.Listener {
    private static final ThreadLocal<boolean[]> DROPPED = ThreadLocal.withInitial(() -> new boolean[1]);

    private volatile PeerTransport transport;
    private volatile MultiRaftNode node;

    /** Wires both ends; call before starting the node. */
    public void connect(PeerTransport transport, MultiRaftNode node) {
        this.transport = transport;
        this.node = node;
    }

    @Override
    public boolean send(long toNodeId, List<Message> messages) {
        boolean[] dropped = DROPPED.get();
        dropped[0] = false;
        transport.send(toNodeId, messages);
        return !dropped[0];
    }

    @Override
    public void onMessages(long fromNodeId, List<Message> messages) {
        MultiRaftNode n = node;
        if (n != null) {
            n.deliver(messages);
        }
    }

    @Override
    public void onUnreachable(long peerNodeId) {
        DROPPED.get()[0] = true;
    }
}
