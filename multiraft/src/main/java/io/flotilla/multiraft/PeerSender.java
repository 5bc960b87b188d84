package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import java.util.List;

/**
 * How a worker hands messages to other nodes: once per round per destination node, all messages for
 * that node together (the Netty transport sends them as one frame and one flush). Called by worker
 * threads; must not block. Messages that cannot be sent are dropped; Raft retries.
 */
public interface PeerSender {
    /**
     * Sends, or drops if the node cannot be reached now. Returns false if the messages were dropped
     * because the node is unreachable (the worker then tells the groups, which probe it instead of
     * streaming appends); a silent loss on the way (a partition) still returns true.
     */
    boolean send(long toNodeId, List<Message> messages);
}
