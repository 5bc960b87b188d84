package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.net.InetSocketAddress;

/**
 * How one node streams snapshots: where its {@link SnapshotReceiver} listens, the chunk and window
 * sizes of its {@link SnapshotSender}, and the limits of both. Immutable and validated; shared by
 * every thread.
 *
 * @param clusterId                     sent and checked in every handshake
 * @param nodeId                        this node's id (> 0)
 * @param listenAddress                 where the receiver accepts snapshot connections; port 0 picks a free one
 * @param protocolVersion               the snapshot channel's protocol version, sent and checked in every handshake
 * @param chunkBytes                    data bytes per chunk frame
 * @param windowBytes                   most chunk bytes a transfer may have sent and not yet had acknowledged
 * @param maxFrameBytes                 largest frame body accepted, length prefix excluded; must hold a chunk
 * @param maxConcurrentSends            transfers this node streams at once; more wait in a queue
 * @param maxConcurrentReceives         transfers this node receives at once; more are refused with BUSY
 * @param maxQueuedSends                transfers waiting or running on the sender; more are refused at once
 * @param retryBackoffMinMs             first delay before a transfer retries after BUSY or a broken connection
 * @param retryBackoffMaxMs             the delay doubles per retry up to this
 * @param maxAttempts                   connections a transfer may use before it is reported failed
 * @param handshakeTimeoutMs            a connection without a handshake by then is closed
 * @param idleTimeoutMs                 a connection on which nothing arrives for this long is closed (and resumed later)
 * @param connectTimeoutMs              a dial that has not connected by then fails (and is retried)
 * @param writeBufferHighWaterMarkBytes queued outbound bytes above which the sender stops producing chunks
 * @param maxImageBytes                 largest snapshot image the receiver takes: an offer of a larger one is
 *                                      refused (INVALID_OFFER) before anything is stored, and the sender reports
 *                                      it failed without retrying
 * @param maxReceivedBytes              most bytes the receiver's sink may hold at once: finished images not yet
 *                                      deleted, partial transfers, and each transfer in progress at its full size.
 *                                      An offer that would pass it is refused (SINK_ERROR) and the sender reports
 *                                      it failed; the leader offers it again later, once images were installed or
 *                                      swept ({@link SnapshotReceiver#retain})
 */
public record SnapshotConfig(long clusterId, long nodeId, InetSocketAddress listenAddress, int protocolVersion,
                             int chunkBytes, long windowBytes, int maxFrameBytes, int maxConcurrentSends,
                             int maxConcurrentReceives, int maxQueuedSends, long retryBackoffMinMs,
                             long retryBackoffMaxMs, int maxAttempts, long handshakeTimeoutMs, long idleTimeoutMs,
                             int connectTimeoutMs, int writeBufferHighWaterMarkBytes, long maxImageBytes,
                             long maxReceivedBytes) {
    public static final int PROTOCOL_VERSION = 1;
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;
    public static final long DEFAULT_WINDOW_BYTES = 4L << 20;
    /** Room for the frame's and the chunk's protobuf headers around the data (they need at most 32 bytes). */
    public static final int FRAME_OVERHEAD_BYTES = 1024;
    public static final int MIN_CHUNK_BYTES = 512;
    public static final int MAX_MAX_FRAME_BYTES = 1 << 30;
    public static final int DEFAULT_MAX_CONCURRENT_TRANSFERS = 2;
    public static final int DEFAULT_MAX_QUEUED_SENDS = 1024;
    public static final long DEFAULT_RETRY_BACKOFF_MIN_MS = 50;
    public static final long DEFAULT_RETRY_BACKOFF_MAX_MS = 2_000;
    public static final int DEFAULT_MAX_ATTEMPTS = 20;
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_MS = 5_000;
    public static final long DEFAULT_IDLE_TIMEOUT_MS = 30_000;
    public static final int DEFAULT_CONNECT_TIMEOUT_MS = 3_000;
    /**
     * 8 GiB. An image is the export of one range's column family, and ranges split long before
     * this (hundreds of MiB); an export may still hold the other half of a recent split until
     * compaction, so the bound leaves an order of magnitude of room. What it stops is an offer whose
     * size is garbage (up to 2^64 - 1 on the wire) or a range whose split fell far behind.
     */
    public static final long DEFAULT_MAX_IMAGE_BYTES = 8L << 30;
    /**
     * 32 GiB: room for four images of the largest size, the two received at once by default and
     * two finished ones waiting to be installed, on a disk that also holds the node's log and
     * state machine.
     */
    public static final long DEFAULT_MAX_RECEIVED_BYTES = 32L << 30;

    public SnapshotConfig {
        Check.argument(nodeId > 0, "nodeId must be positive, was %d", nodeId);
        Check.argument(listenAddress != null, "the listen address is required");
        Check.argument(protocolVersion > 0, "protocolVersion must be positive, was %d", protocolVersion);
        Check.argument(chunkBytes >= MIN_CHUNK_BYTES, "chunkBytes %d must be at least %d", chunkBytes, MIN_CHUNK_BYTES);
        Check.argument(windowBytes >= chunkBytes, "windowBytes %d must hold at least one chunk of %d bytes",
                windowBytes, chunkBytes);
        Check.argument(maxFrameBytes >= (long) chunkBytes + FRAME_OVERHEAD_BYTES && maxFrameBytes <= MAX_MAX_FRAME_BYTES,
                "maxFrameBytes %d must be in [chunkBytes + %d, %d]", maxFrameBytes, FRAME_OVERHEAD_BYTES,
                MAX_MAX_FRAME_BYTES);
        Check.argument(maxConcurrentSends > 0, "maxConcurrentSends must be positive, was %d", maxConcurrentSends);
        Check.argument(maxConcurrentReceives > 0, "maxConcurrentReceives must be positive, was %d",
                maxConcurrentReceives);
        Check.argument(maxQueuedSends >= maxConcurrentSends, "maxQueuedSends %d must be at least maxConcurrentSends %d",
                maxQueuedSends, maxConcurrentSends);
        Check.argument(retryBackoffMinMs > 0 && retryBackoffMinMs <= retryBackoffMaxMs,
                "retry backoff must satisfy 0 < min %d <= max %d", retryBackoffMinMs, retryBackoffMaxMs);
        Check.argument(maxAttempts > 0, "maxAttempts must be positive, was %d", maxAttempts);
        Check.argument(handshakeTimeoutMs > 0, "handshakeTimeoutMs must be positive, was %d", handshakeTimeoutMs);
        Check.argument(idleTimeoutMs > 0, "idleTimeoutMs must be positive, was %d", idleTimeoutMs);
        Check.argument(connectTimeoutMs > 0, "connectTimeoutMs must be positive, was %d", connectTimeoutMs);
        Check.argument(writeBufferHighWaterMarkBytes >= 2, "writeBufferHighWaterMarkBytes must be at least 2, was %d",
                writeBufferHighWaterMarkBytes);
        Check.argument(maxImageBytes > 0, "maxImageBytes must be positive, was %d", maxImageBytes);
        Check.argument(maxReceivedBytes >= maxImageBytes,
                "maxReceivedBytes %d must hold at least one image of maxImageBytes %d", maxReceivedBytes, maxImageBytes);
    }

    /** A node receiving on 127.0.0.1:{@code listenPort} (0 = any free port) with default limits. */
    public static SnapshotConfig of(long clusterId, long nodeId, int listenPort) {
        return new SnapshotConfig(clusterId, nodeId, new InetSocketAddress("127.0.0.1", listenPort), PROTOCOL_VERSION,
                DEFAULT_CHUNK_BYTES, DEFAULT_WINDOW_BYTES, DEFAULT_CHUNK_BYTES + FRAME_OVERHEAD_BYTES,
                DEFAULT_MAX_CONCURRENT_TRANSFERS, DEFAULT_MAX_CONCURRENT_TRANSFERS, DEFAULT_MAX_QUEUED_SENDS,
                DEFAULT_RETRY_BACKOFF_MIN_MS, DEFAULT_RETRY_BACKOFF_MAX_MS, DEFAULT_MAX_ATTEMPTS,
                DEFAULT_HANDSHAKE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS,
                2 * DEFAULT_CHUNK_BYTES, DEFAULT_MAX_IMAGE_BYTES, DEFAULT_MAX_RECEIVED_BYTES);
    }

    /**
     * Chunks of {@code chunk} bytes, at most {@code window} bytes unacknowledged. The frame limit
     * becomes {@code chunk + FRAME_OVERHEAD_BYTES} (so this receiver refuses offers of larger chunks)
     * and the write buffer two chunks.
     */
    public SnapshotConfig withChunking(int chunk, long window) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunk, window,
                chunk + FRAME_OVERHEAD_BYTES, maxConcurrentSends, maxConcurrentReceives,
                maxQueuedSends, retryBackoffMinMs, retryBackoffMaxMs, maxAttempts, handshakeTimeoutMs, idleTimeoutMs,
                connectTimeoutMs, 2 * chunk, maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withConcurrency(int sends, int receives) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes,
                maxFrameBytes, sends, receives, Math.max(maxQueuedSends, sends), retryBackoffMinMs, retryBackoffMaxMs,
                maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withRetry(long backoffMinMs, long backoffMaxMs, int attempts) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes,
                maxFrameBytes, maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, backoffMinMs, backoffMaxMs,
                attempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withTimeoutsMs(long handshakeMs, long idleMs) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes,
                maxFrameBytes, maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs,
                retryBackoffMaxMs, maxAttempts, handshakeMs, idleMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withClusterId(long id) {
        return new SnapshotConfig(id, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes, maxFrameBytes,
                maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs, retryBackoffMaxMs,
                maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withProtocolVersion(int version) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, version, chunkBytes, windowBytes, maxFrameBytes,
                maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs, retryBackoffMaxMs,
                maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    public SnapshotConfig withMaxFrameBytes(int bytes) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes, bytes,
                maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs, retryBackoffMaxMs,
                maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs, writeBufferHighWaterMarkBytes,
                maxImageBytes, maxReceivedBytes);
    }

    /** The largest image the receiver takes ({@link #maxImageBytes}). */
    public SnapshotConfig withMaxImageBytes(long bytes) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes,
                maxFrameBytes, maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs,
                retryBackoffMaxMs, maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs,
                writeBufferHighWaterMarkBytes, bytes, maxReceivedBytes);
    }

    /** The largest image the receiver takes and the most bytes its sink holds ({@link #maxReceivedBytes}). */
    public SnapshotConfig withImageLimits(long imageBytes, long receivedBytes) {
        return new SnapshotConfig(clusterId, nodeId, listenAddress, protocolVersion, chunkBytes, windowBytes,
                maxFrameBytes, maxConcurrentSends, maxConcurrentReceives, maxQueuedSends, retryBackoffMinMs,
                retryBackoffMaxMs, maxAttempts, handshakeTimeoutMs, idleTimeoutMs, connectTimeoutMs,
                writeBufferHighWaterMarkBytes, imageBytes, receivedBytes);
    }
}
