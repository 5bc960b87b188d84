package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import java.util.List;

/**
 * How a worker hands messages to other nodes: once per round per destination node, all messages for
 * that node together (the Netty transport sends them as one frame and one flush). Called by worker
 * threads; must not block. Messages that cannot be sent are dropped; Raft retries.
 */
public interface PeerSender {
    void send(long toNodeId, List<Message> messages);
}
