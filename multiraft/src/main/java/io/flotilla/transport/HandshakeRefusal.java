package io.flotilla.transport;

import io.flotilla.transport.proto.Handshake;
import java.util.function.LongPredicate;

/**
 * Why a connection's handshake was refused. Each refusal closes the connection, is logged with the
 * values that did not match and is counted in {@link TransportStats#handshakesRefused}. Codes are
 * stable (they appear in logs and stats).
 */
public enum HandshakeRefusal {
    /** The first frame did not parse as a handshake (not a Flotilla peer, or garbage). */
    NOT_A_HANDSHAKE(1),
    /** The peer speaks another protocol version. */
    PROTOCOL_VERSION(2),
    /** The peer belongs to another cluster. */
    CLUSTER_ID(3),
    /** The peer meant to reach another node (a stale or wrong address). */
    RECEIVER_ID(4),
    /** The sender is 0, this node itself, or not a peer this node knows; on the dialing side, the
     *  node that answered is not the one dialed. */
    SENDER_ID(5),
    /** No complete handshake arrived within {@link TransportConfig#handshakeTimeoutMs}. */
    HANDSHAKE_TIMEOUT(6);

    public final int code;

    HandshakeRefusal(int code) {
        this.code = code;
    }

    /**
     * Checks a handshake against what this end expects, protocol version first: another version may
     * mean every other field is read wrongly. Returns null if it passes, else the first field that
     * does not match. Shared by the peer transport and the snapshot channel.
     */
    public static HandshakeRefusal check(Handshake h, long clusterId, long selfNodeId, int protocolVersion,
            LongPredicate senderAllowed) {
        if (h.getProtocolVersion() != protocolVersion) {
            return PROTOCOL_VERSION;
        }
        if (h.getClusterId() != clusterId) {
            return CLUSTER_ID;
        }
        if (h.getReceiverNodeId() != selfNodeId) {
            return RECEIVER_ID;
        }
        long sender = h.getSenderNodeId();
        if (sender <= 0 || sender == selfNodeId || !senderAllowed.test(sender)) {
            return SENDER_ID;
        }
        return null;
    }
}
