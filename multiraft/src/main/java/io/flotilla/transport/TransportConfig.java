package io.flotilla.transport;

import io.flotilla.raft.Check;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;

/**
 * How one node's {@link PeerTransport} listens, whom it dials and its limits. Immutable and
 * validated; shared by every thread of the transport.
 *
 * @param clusterId                     sent and checked in every handshake; a peer of another cluster is refused
 * @param nodeId                        this node's id (> 0)
 * @param listenAddress                 where inbound peer connections are accepted; port 0 picks a free one
 * @param peers                         the address of every other node, by node id (this node is not listed);
 *                                      {@link PeerTransport#addPeer} adds more at run time
 * @param maxFrameBytes                 largest frame body accepted or sent, length prefix excluded
 * @param protocolVersion               sent and checked in every handshake (> 0)
 * @param reconnectBackoffMinMs         first delay before re-dialing a peer after a failed dial or a drop
 * @param reconnectBackoffMaxMs         the delay doubles after each failure up to this
 * @param ioThreads                     Netty event-loop threads for all connections of this node
 * @param writeBufferHighWaterMarkBytes bytes queued on a peer connection above which {@code send} drops
 * @param handshakeTimeoutMs            a connection whose handshake has not completed by then is closed
 * @param connectTimeoutMs              a dial that has not connected by then fails (and is retried)
 */
public record TransportConfig(long clusterId, long nodeId, InetSocketAddress listenAddress,
                              Map<Long, InetSocketAddress> peers, int maxFrameBytes, int protocolVersion,
                              long reconnectBackoffMinMs, long reconnectBackoffMaxMs, int ioThreads,
                              int writeBufferHighWaterMarkBytes, long handshakeTimeoutMs, int connectTimeoutMs) {
    public static final int DEFAULT_MAX_FRAME_BYTES = 16 << 20;
    /** Frames must at least hold a handshake and a small batch. */
    public static final int MIN_MAX_FRAME_BYTES = 1024;
    /** Leaves room for the 4-byte prefix in an int-sized Netty frame. */
    public static final int MAX_MAX_FRAME_BYTES = 1 << 30;
    public static final int PROTOCOL_VERSION = 1;
    public static final long DEFAULT_RECONNECT_BACKOFF_MIN_MS = 50;
    public static final long DEFAULT_RECONNECT_BACKOFF_MAX_MS = 2_000;
    public static final int DEFAULT_IO_THREADS = 1;
    public static final int DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK_BYTES = 8 << 20;
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 3_000;

    public TransportConfig {
        Check.argument(nodeId > 0, "nodeId must be positive, was %d", nodeId);
        Check.argument(listenAddress != null, "the listen address is required");
        Check.argument(peers != null, "the peer map is required (it may be empty)");
        peers = Map.copyOf(peers);
        for (Map.Entry<Long, InetSocketAddress> e : peers.entrySet()) {
            long peer = e.getKey();
            Check.argument(peer > 0, "peer node ids must be positive, was %d", peer);
            Check.argument(peer != nodeId, "node %d lists itself as a peer", nodeId);
        }
        Check.argument(maxFrameBytes >= MIN_MAX_FRAME_BYTES && maxFrameBytes <= MAX_MAX_FRAME_BYTES,
                "maxFrameBytes %d must be in [%d, %d]", maxFrameBytes, MIN_MAX_FRAME_BYTES, MAX_MAX_FRAME_BYTES);
        Check.argument(protocolVersion > 0, "protocolVersion must be positive, was %d", protocolVersion);
        Check.argument(reconnectBackoffMinMs > 0 && reconnectBackoffMinMs <= reconnectBackoffMaxMs,
                "reconnect backoff must satisfy 0 < min %d <= max %d", reconnectBackoffMinMs, reconnectBackoffMaxMs);
        Check.argument(ioThreads > 0, "ioThreads must be positive, was %d", ioThreads);
        Check.argument(writeBufferHighWaterMarkBytes >= 2,
                "writeBufferHighWaterMarkBytes must be at least 2, was %d", writeBufferHighWaterMarkBytes);
        Check.argument(handshakeTimeoutMs > 0, "handshakeTimeoutMs must be positive, was %d", handshakeTimeoutMs);
        Check.argument(connectTimeoutMs > 0, "connectTimeoutMs must be positive, was %d", connectTimeoutMs);
    }

    /** A node listening on 127.0.0.1:{@code listenPort} (0 = any free port) with no peers yet and default limits. */
    public static TransportConfig of(long clusterId, long nodeId, int listenPort) {
        return new TransportConfig(clusterId, nodeId, new InetSocketAddress("127.0.0.1", listenPort), Map.of(),
                DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION, DEFAULT_RECONNECT_BACKOFF_MIN_MS,
                DEFAULT_RECONNECT_BACKOFF_MAX_MS, DEFAULT_IO_THREADS, DEFAULT_WRITE_BUFFER_HIGH_WATER_MARK_BYTES,
                DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS);
    }

    public TransportConfig withPeer(long peerNodeId, InetSocketAddress address) {
        Map<Long, InetSocketAddress> more = new HashMap<>(peers);
        more.put(peerNodeId, address);
        return withPeers(more);
    }

    public TransportConfig withPeers(Map<Long, InetSocketAddress> newPeers) {
        return new TransportConfig(clusterId, nodeId, listenAddress, newPeers, maxFrameBytes, protocolVersion,
                reconnectBackoffMinMs, reconnectBackoffMaxMs, ioThreads, writeBufferHighWaterMarkBytes,
                handshakeTimeoutMs, connectTimeoutMs);
    }

    public TransportConfig withMaxFrameBytes(int bytes) {
        return new TransportConfig(clusterId, nodeId, listenAddress, peers, bytes, protocolVersion,
                reconnectBackoffMinMs, reconnectBackoffMaxMs, ioThreads, writeBufferHighWaterMarkBytes,
                handshakeTimeoutMs, connectTimeoutMs);
    }

    public TransportConfig withProtocolVersion(int version) {
        return new TransportConfig(clusterId, nodeId, listenAddress, peers, maxFrameBytes, version,
                reconnectBackoffMinMs, reconnectBackoffMaxMs, ioThreads, writeBufferHighWaterMarkBytes,
                handshakeTimeoutMs, connectTimeoutMs);
    }

    public TransportConfig withReconnectBackoffMs(long minMs, long maxMs) {
        return new TransportConfig(clusterId, nodeId, listenAddress, peers, maxFrameBytes, protocolVersion,
                minMs, maxMs, ioThreads, writeBufferHighWaterMarkBytes, handshakeTimeoutMs, connectTimeoutMs);
    }

    public TransportConfig withHandshakeTimeoutMs(long timeoutMs) {
        return new TransportConfig(clusterId, nodeId, listenAddress, peers, maxFrameBytes, protocolVersion,
                reconnectBackoffMinMs, reconnectBackoffMaxMs, ioThreads, writeBufferHighWaterMarkBytes,
                timeoutMs, connectTimeoutMs);
    }

    public TransportConfig withWriteBufferHighWaterMarkBytes(int bytes) {
        return new TransportConfig(clusterId, nodeId, listenAddress, peers, maxFrameBytes, protocolVersion,
                reconnectBackoffMinMs, reconnectBackoffMaxMs, ioThreads, bytes, handshakeTimeoutMs, connectTimeoutMs);
    }
}
