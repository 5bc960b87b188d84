package io.flotilla.transport;

import io.flotilla.raft.Check;
import io.flotilla.raft.Message;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.wire.MessageBatchCodec;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.Future;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The peer transport of one node process: one outbound connection to every peer node carrying all
 * of this node's Raft traffic to it, and inbound connections on which it only receives (so each node
 * pair has two connections, each with one obvious owner). Every group of the node shares them.
 *
 * <p>Threads: a fixed set of Netty event-loop threads ({@link TransportConfig#ioThreads}) owns every
 * connection, decodes frames and calls {@link Listener#onMessages}. {@link #send} is called by the
 * runtime's workers, concurrently, and never blocks: it encodes on the caller's thread and hands
 * the frame to the connection's event loop. {@link #addPeer}, {@link #removePeer} and
 * {@link #close} may be called from any thread.
 *
 * <p>Wire format: see {@code transport.proto} and {@link FrameCodec}. Each connection starts with a
 * handshake both ways (cluster id, sender, receiver, protocol version), checked by each end; then
 * the dialer sends length-prefixed {@code MessageBatch} frames.
 */
public final class PeerTransport implements AutoCloseable {
    static final System.Logger LOG = System.getLogger(PeerTransport.class.getName());
    /** How long {@link #close} waits for the event loops to finish. */
    static final long SHUTDOWN_TIMEOUT_MS = 3_000;

    /**
     * Where the transport delivers what it learns. Implemented by the runtime, which hands messages
     * to the inboxes of the workers that own their groups.
     */
    public interface Listener {
        /**
         * Messages from {@code fromNodeId}, all with {@code from == fromNodeId} and {@code to} this
         * node, in the order that node sent them. Called on a Netty event-loop thread: it must not
         * block (a full inbox drops the messages, and Raft resends them) and it now owns the list.
         */
        void onMessages(long fromNodeId, List<Message> messages);

        /**
         * A {@link #send} to {@code peerNodeId} was dropped because its connection is down or
         * backed up. Called on the thread that called {@code send}, before {@code send} returns, so a
         * worker can report the peer unreachable to the groups that just sent to it (the core then
         * probes it again instead of streaming appends into the void).
         */
        void onUnreachable(long peerNodeId);
    }

    private final TransportConfig config;
    private final Listener listener;
    private final TransportFaultFilter faultFilter;
    private final TransportStats stats = new TransportStats();
    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final Map<Long, PeerLink> links = new ConcurrentHashMap<>();
    /** The accepted connection of each peer; a newer handshake from the same node closes the older one. */
    private final Map<Long, Channel> inbound = new ConcurrentHashMap<>();
    private final ChannelFutureListener countWriteFailure = f -> {
        if (!f.isSuccess()) {
            stats().writeFailures.incrementAndGet();
        }
    };
    private volatile boolean closed;

    private PeerTransport(TransportConfig config, Listener listener, TransportFaultFilter faultFilter) throws IOException {
        this.config = config;
        this.listener = listener;
        this.faultFilter = faultFilter;
        this.group = new MultiThreadIoEventLoopGroup(config.ioThreads(),
                new DefaultThreadFactory("flotilla-transport-" + config.nodeId(), true), NioIoHandler.newFactory());
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LengthPrefixedFrameDecoder(config.maxFrameBytes()),
                                new InboundHandler(PeerTransport.this));
                    }
                });
        ChannelFuture bind = server.bind(config.listenAddress()).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS).awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
            throw new IOException("node " + config.nodeId() + " cannot listen for peers on " + config.listenAddress()
                    + ": " + bind.cause().getMessage() + " (is another process using the port?)", bind.cause());
        }
        this.serverChannel = bind.channel();
    }

    /** Starts a transport without faults. */
    public static PeerTransport start(TransportConfig config, Listener listener) throws IOException {
        return start(config, listener, new TransportFaultFilter());
    }

    /**
     * Binds the listen address and starts dialing every configured peer.
     *
     * @throws IOException if the listen address cannot be bound
     */
    public static PeerTransport start(TransportConfig config, Listener listener, TransportFaultFilter faultFilter)
            throws IOException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(listener, "listener");
        Objects.requireNonNull(faultFilter, "faultFilter");
        PeerTransport transport = new PeerTransport(config, listener, faultFilter);
        for (Map.Entry<Long, InetSocketAddress> peer : config.peers().entrySet()) {
            transport.addPeer(peer.getKey(), peer.getValue());
        }
        return transport;
    }

    /** The address peers dial: the configured one, with the actual port if it was 0. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public TransportStats stats() {
        return stats;
    }

    TransportConfig config() {
        return config;
    }

    Listener listener() {
        return listener;
    }

    /**
     * Adds a peer node: its handshakes are accepted from now on, and this node dials it. Adding a
     * known peer again at the same address does nothing; to move a peer, remove it first.
     *
     * @throws IllegalArgumentException if the id is not a valid peer or the peer is known at another address
     */
    public void addPeer(long peerNodeId, InetSocketAddress address) {
        Check.argument(peerNodeId > 0 && peerNodeId != config.nodeId(),
                "peer node id %d must be positive and not this node's id %d", peerNodeId, config.nodeId());
        Objects.requireNonNull(address, "address");
        Check.state(!closed, "node %d: the transport is closed", config.nodeId());
        PeerLink[] created = new PeerLink[1];
        PeerLink link = links.computeIfAbsent(peerNodeId, id -> {
            created[0] = new PeerLink(this, id, address, group.next());
            return created[0];
        });
        if (created[0] != null) {
            created[0].start();
        } else if (!link.address.equals(address)) {
            throw new IllegalArgumentException("node " + peerNodeId + " is already a peer at " + link.address
                    + ", not " + address + "; remove it first to move it");
        }
    }

    /** Forgets a peer: closes both connections with it and refuses its handshakes from now on. */
    public void removePeer(long peerNodeId) {
        PeerLink link = links.remove(peerNodeId);
        if (link != null) {
            link.close();
        }
        Channel in = inbound.remove(peerNodeId);
        if (in != null) {
            in.close();
        }
    }

    /** Whether this node's connection to the peer is up and its handshake answered: sends will go out. */
    public boolean isConnected(long peerNodeId) {
        PeerLink link = links.get(peerNodeId);
        Channel channel = link == null ? null : link.established();
        return channel != null && channel.isActive();
    }

    boolean isPeer(long nodeId) {
        return links.containsKey(nodeId);
    }

    /**
     * Sends the messages one worker round produced for one peer node: as one frame and one flush
     * (several frames, still one flush, if they exceed {@link TransportConfig#maxFrameBytes}). Never
     * blocks. If the peer's connection is down or its write buffer is above the high-water mark, the
     * messages are dropped and {@link Listener#onUnreachable} fires on this thread; Raft resends.
     * Messages dropped by the fault filter vanish silently, as in a network partition.
     *
     * <p>The messages must not change after this call; they are encoded before it returns.
     */
    public void send(long peerNodeId, List<Message> messages) {
        if (messages.isEmpty()) {
            return;
        }
        if (faultFilter.drops(config.nodeId(), peerNodeId)) {
            stats.messagesDroppedByFilter.addAndGet(messages.size());
            return;
        }
        PeerLink link = links.get(peerNodeId);
        Channel channel = link == null || closed ? null : link.established();
        if (channel == null || !channel.isActive()) {
            stats.sendsDroppedDisconnected.incrementAndGet();
            dropUnreachable(peerNodeId, messages);
            return;
        }
        if (!channel.isWritable()) {
            stats.sendsDroppedBackpressure.incrementAndGet();
            dropUnreachable(peerNodeId, messages);
            return;
        }
        sendFrames(peerNodeId, channel, messages);
    }

    /**
     * Packs the messages, in order, into as few frames as fit under the frame limit (usually one)
     * and writes them with one flush. Each frame is sized first and encoded once, straight from the
     * messages into its buffer. A single message over the limit cannot be sent at all: Raft's
     * per-message size limit or the proposal size limit is set above the frame limit. It is dropped
     * and logged; no peer could accept it.
     */
    private void sendFrames(long peerNodeId, Channel channel, List<Message> messages) {
        int maxBytes = config.maxFrameBytes();
        int frames = 0;
        int sent = 0;
        long bytes = 0;
        int frameStart = 0;
        int frameBytes = 0;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            int fieldBytes = MessageBatchCodec.fieldBytes(m);
            if (fieldBytes > maxBytes) {
                // Left out of its frame by encodeBatch, which applies the same limit.
                stats.oversizedMessagesDropped.incrementAndGet();
                LOG.log(Level.WARNING, "node " + config.nodeId() + ": dropped a " + fieldBytes + "-byte message to node "
                        + peerNodeId + " (group " + m.groupId + ", " + m.type + "): over maxFrameBytes " + maxBytes
                        + "; keep Raft's message and proposal size limits below it");
                continue;
            }
            if (frameBytes > 0 && frameBytes + fieldBytes > maxBytes) {
                // Message i starts the next frame, so this one is not the last: no flush yet.
                channel.write(FrameCodec.encodeBatch(channel.alloc(), messages, frameStart, i, frameBytes, maxBytes))
                        .addListener(countWriteFailure);
                frames++;
                bytes += FrameCodec.LENGTH_FIELD_BYTES + frameBytes;
                frameStart = i;
                frameBytes = 0;
            }
            frameBytes += fieldBytes;
            sent++;
        }
        if (frameBytes > 0) {
            channel.writeAndFlush(FrameCodec.encodeBatch(channel.alloc(), messages, frameStart, messages.size(),
                    frameBytes, maxBytes)).addListener(countWriteFailure);
            frames++;
            bytes += FrameCodec.LENGTH_FIELD_BYTES + frameBytes;
        }
        if (frames > 0) {
            stats.framesSent.addAndGet(frames);
            stats.messagesSent.addAndGet(sent);
            stats.bytesSent.addAndGet(bytes);
            stats.flushes.incrementAndGet();
        }
    }

    private void dropUnreachable(long peerNodeId, List<Message> messages) {
        stats.messagesDroppedUnreachable.addAndGet(messages.size());
        listener.onUnreachable(peerNodeId);
    }

    Handshake handshakeTo(long receiverNodeId) {
        return Handshake.newBuilder()
                .setClusterId(config.clusterId())
                .setSenderNodeId(config.nodeId())
                .setReceiverNodeId(receiverNodeId)
                .setProtocolVersion(config.protocolVersion())
                .build();
    }

    String describeSelf() {
        return "cluster " + Long.toUnsignedString(config.clusterId()) + ", node " + config.nodeId()
                + ", protocol version " + config.protocolVersion() + ", peers " + links.keySet();
    }

    void inboundAccepted(long senderNodeId, Channel channel) {
        Channel older = inbound.put(senderNodeId, channel);
        if (older != null && older != channel) {
            // The peer re-dialed (it restarted, or its side saw the old connection die first).
            // Only one connection per direction: the newer one wins.
            LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": node " + senderNodeId
                    + " connected again; closing its older connection");
            older.close();
        }
        if (closed) {
            channel.close();
        }
    }

    void inboundClosed(long senderNodeId, Channel channel) {
        inbound.remove(senderNodeId, channel);
    }

    /**
     * Closes every connection and the listening socket and shuts the event loops down, waiting at
     * most {@link #SHUTDOWN_TIMEOUT_MS}. Sends after this are dropped as unreachable. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (PeerLink link : links.values()) {
            link.close();
        }
        serverChannel.close();
        for (Channel channel : inbound.values()) {
            channel.close();
        }
        Future<?> shutdown = group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        if (!shutdown.awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS + 1_000)) {
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": transport event loops did not stop within "
                    + (SHUTDOWN_TIMEOUT_MS + 1_000) + " ms");
        }
    }
}
