package io.flotilla.transport.snapshot;

import io.flotilla.transport.LengthPrefixedFrameDecoder;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.transport.HandshakeRefusal;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.transport.snapshot.proto.Accept;
import io.flotilla.transport.snapshot.proto.Ack;
import io.flotilla.transport.snapshot.proto.Chunk;
import io.flotilla.transport.snapshot.proto.FailureReason;
import io.flotilla.transport.snapshot.proto.Finish;
import io.flotilla.transport.snapshot.proto.Offer;
import io.flotilla.transport.snapshot.proto.Outcome;
import io.flotilla.transport.snapshot.proto.Refuse;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongPredicate;
import java.util.zip.CRC32C;

/**
 * The receiving end of snapshot streaming on one node: listens on its own port, accepts one
 * transfer per connection, writes the chunks to a {@link SnapshotSink}, acknowledges what is
 * durable, verifies every chunk's CRC32C and the whole snapshot's, and reports each complete
 * snapshot to its {@link Listener}.
 *
 * <p>Threads: one Netty event-loop thread owns the listening socket, every connection, every open
 * {@link SnapshotSink.Writer} and all state here (the single-writer principle); the sink is called
 * only on it. {@link #retain}, {@link #dropSender} and {@link #close} may be called from any thread.
 *
 * <p>What a sender can make this node store is bounded: only the nodes {@code senderAllowed} names
 * get past the handshake; an offer of an image over {@link SnapshotConfig#maxImageBytes} is refused
 * (INVALID_OFFER) before the sink sees it; an offer that would make the sink hold more than
 * {@link SnapshotConfig#maxReceivedBytes} (stored images, plus every transfer in progress at its
 * full size) is refused (SINK_ERROR, reported failed by the sender; its leader tries again later);
 * and {@link #retain} sweeps away the images the runtime no longer needs.
 *
 * <p>At most {@link SnapshotConfig#maxConcurrentReceives} transfers run at once; an offer beyond
 * that is refused with BUSY and the sender retries with backoff. A transfer whose connection breaks
 * is suspended (its durable prefix kept by the sink), and the next offer of the same
 * {@link SnapshotKey} resumes there; an offer of a key still open on another connection (the old
 * one is half-open) takes the transfer over and closes the old connection.
 */
public final class SnapshotReceiver implements AutoCloseable {
    static final System.Logger LOG = System.getLogger(SnapshotReceiver.class.getName());
    static final long SHUTDOWN_TIMEOUT_MS = 3_000;
    /** Transfers remembered as finished, so an offer repeated after a lost outcome is answered ok at once. */
    static final int RECENTLY_COMPLETED_LIMIT = 1024;

    /** Where complete snapshots are reported; the runtime hands them to the group's worker to install. */
    public interface Listener {
        /**
         * The snapshot of {@code groupId} at {@code index} / {@code term} is complete, verified and
         * durable in the sink. Called on the receiver's I/O thread: it must not block.
         */
        void onSnapshotReceived(long groupId, long index, long term);
    }

    private enum Phase { HANDSHAKE, OFFER, RECEIVING, CLOSING }

    private final SnapshotConfig config;
    private final SnapshotSink sink;
    private final Listener listener;
    private final LongPredicate senderAllowed;
    private final SnapshotStats stats = new SnapshotStats();
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Channel serverChannel;
    private final CRC32C chunkCrc = new CRC32C();
    // Owned by the loop.
    private final Map<SnapshotKey, Connection> active = new HashMap<>();
    private final Set<Connection> connections = new HashSet<>();
    private final Map<SnapshotKey, Boolean> recentlyCompleted = new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<SnapshotKey, Boolean> eldest) {
            return size() > RECENTLY_COMPLETED_LIMIT;
        }
    };
    private volatile boolean closed;

    private SnapshotReceiver(SnapshotConfig config, SnapshotSink sink, Listener listener, LongPredicate senderAllowed)
            throws IOException {
        this.config = config;
        this.sink = sink;
        this.listener = listener;
        this.senderAllowed = senderAllowed;
        this.group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("flotilla-snapshot-in-" + config.nodeId(), true), NioIoHandler.newFactory());
        this.loop = group.next();
        ServerBootstrap server = new ServerBootstrap()
                .group(loop)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LengthPrefixedFrameDecoder(config.maxFrameBytes()), new Connection());
                    }
                });
        ChannelFuture bind = server.bind(config.listenAddress()).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS).awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
            throw new IOException("node " + config.nodeId() + " cannot listen for snapshots on " + config.listenAddress()
                    + ": " + bind.cause().getMessage() + " (is another process using the port?)", bind.cause());
        }
        this.serverChannel = bind.channel();
    }

    /**
     * Binds {@link SnapshotConfig#listenAddress} and starts accepting transfers from the nodes
     * {@code senderAllowed} names. A handshake from any other node is refused with
     * {@link HandshakeRefusal#SENDER_ID}, logged and counted, and its connection closed before
     * anything is stored: a snapshot installs a group's whole state, so only a peer may send one.
     *
     * @param senderAllowed which node ids may send: the runtime's peer set, read on the receiver's
     *                      I/O thread at each handshake, so it must be thread-safe. 0 and this node
     *                      are always refused
     * @throws IOException if the address cannot be bound
     */
    public static SnapshotReceiver start(SnapshotConfig config, SnapshotSink sink, Listener listener,
                                         LongPredicate senderAllowed) throws IOException {
        return new SnapshotReceiver(Objects.requireNonNull(config, "config"), Objects.requireNonNull(sink, "sink"),
                Objects.requireNonNull(listener, "listener"), Objects.requireNonNull(senderAllowed, "senderAllowed"));
    }

    /** The address senders dial: the configured one, with the actual port if it was 0. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    public SnapshotStats stats() {
        return stats;
    }

    /**
     * Stops accepting, suspends every open transfer (its durable prefix stays in the sink for a
     * later receiver to resume) and shuts the event loop down. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Runnable suspendAll = () -> {
            serverChannel.close();
            for (Connection c : new ArrayList<>(connections)) {
                c.suspendAndClose("the receiver is closing");
            }
        };
        if (loop.inEventLoop()) {
            suspendAll.run();
        } else {
            loop.submit(suspendAll).awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
        }
        if (!group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS + 1_000)) {
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": snapshot receiver did not stop within "
                    + (SHUTDOWN_TIMEOUT_MS + 1_000) + " ms");
        }
    }

    /**
     * Closes every connection from {@code nodeId} and discards the transfers on them: the node is no
     * longer a peer ({@code senderAllowed} already refuses its new handshakes, and a connection past
     * its handshake must not go on writing). Any thread; returns at once, the work runs on the I/O
     * thread.
     */
    public void dropSender(long nodeId) {
        if (closed) {
            return;
        }
        try {
            loop.execute(() -> {
                for (Connection c : new ArrayList<>(connections)) {
                    if (c.senderNodeId == nodeId) {
                        c.discardAndClose("node " + nodeId + " is no longer a peer");
                    }
                }
            });
        } catch (RejectedExecutionException e) {
            // Closing: every connection is being closed anyway.
        }
    }

    /**
     * Sweeps away what {@code retention} does not need: each transfer in progress of an unneeded
     * image is failed (its sender hears SINK_ERROR and reports the transfer failed) and discarded,
     * then the sink deletes the unneeded finished snapshots and partial transfers.
     *
     * <p>Any thread; returns at once. The sweep runs on the I/O thread, which owns the sink, so it
     * never races a transfer's writes; the future completes there with what was removed, or
     * exceptionally if the sink failed (what it deleted stays deleted; the next sweep retries) or
     * the receiver is closed. Stages chained on it run on the I/O thread: they must not block.
     */
    public CompletableFuture<SnapshotRetention.Swept> retain(SnapshotRetention retention) {
        Objects.requireNonNull(retention, "retention");
        CompletableFuture<SnapshotRetention.Swept> done = new CompletableFuture<>();
        if (closed) {
            done.completeExceptionally(new IllegalStateException("node " + config.nodeId()
                    + ": the snapshot receiver is closed; nothing was swept"));
            return done;
        }
        try {
            loop.execute(() -> sweep(retention, done));
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new IllegalStateException("node " + config.nodeId()
                    + ": the snapshot receiver is closing; nothing was swept", e));
        }
        return done;
    }

    private void sweep(SnapshotRetention retention, CompletableFuture<SnapshotRetention.Swept> done) {
        try {
            int aborted = 0;
            for (Connection c : new ArrayList<>(active.values())) {
                if (!retention.needs(c.key.groupId(), c.key.index())) {
                    stats.retentionAborts.incrementAndGet();
                    c.fail(FailureReason.SINK_ERROR, "node " + config.nodeId() + " no longer needs the " + c.key
                            + ": the group is not hosted here, or needs only newer images");
                    aborted++;
                }
            }
            // A repeated offer of a swept image must be received again, not answered "ok".
            recentlyCompleted.keySet().removeIf(k -> !retention.needs(k.groupId(), k.index()));
            SnapshotRetention.Swept swept = sink.discardUnneeded(retention)
                    .plus(new SnapshotRetention.Swept(aborted, 0, 0, 0));
            if (!swept.equals(SnapshotRetention.Swept.NOTHING)) {
                LOG.log(Level.INFO, "node " + config.nodeId() + ": swept received snapshots no group needs ("
                        + retention + "): " + swept);
            }
            done.complete(swept);
        } catch (IOException | RuntimeException e) {
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": sweeping received snapshots failed; the next sweep"
                    + " retries", e);
            done.completeExceptionally(e);
        }
    }

    private void updateActive() {
        stats.activeReceives.set(active.size());
        SnapshotStats.raiseTo(stats.maxActiveReceives, active.size());
    }

    /** One accepted connection and the transfer on it. Owned by the loop. */
    private final class Connection extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private Phase phase = Phase.HANDSHAKE;
        private long senderNodeId;
        private SnapshotKey key;
        private long totalBytes;
        private int chunkBytes;
        /** Non-null exactly while this connection holds a receive slot ({@code active.get(key) == this}). */
        private SnapshotSink.Writer writer;
        private long ackedBytes;
        private boolean unsynced;
        private long lastReadNs;
        private ScheduledFuture<?> timer;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            connections.add(this);
            lastReadNs = System.nanoTime();
            long periodMs = Math.max(1, Math.min(config.handshakeTimeoutMs(), config.idleTimeoutMs()) / 4);
            timer = ctx.executor().scheduleAtFixedRate(this::checkTimeouts, periodMs, periodMs, TimeUnit.MILLISECONDS);
            if (closed) {
                ctx.close();
            }
            ctx.fireChannelActive();
        }

        private void checkTimeouts() {
            long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastReadNs);
            if (phase == Phase.HANDSHAKE && idleMs > config.handshakeTimeoutMs()) {
                refuse(HandshakeRefusal.HANDSHAKE_TIMEOUT, "no handshake within " + config.handshakeTimeoutMs() + " ms");
            } else if (phase != Phase.CLOSING && idleMs > config.idleTimeoutMs()) {
                suspendAndClose("nothing arrived for " + idleMs + " ms");
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (timer != null) {
                timer.cancel(false);
            }
            connections.remove(this);
            suspend();
            phase = Phase.CLOSING;
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            lastReadNs = System.nanoTime();
            if (msg instanceof LengthPrefixedFrameDecoder.Truncated truncated) {
                if (phase != Phase.CLOSING) {
                    stats.malformedFrames.incrementAndGet();
                    suspendAndClose("the connection ended inside a frame (" + truncated.bytesHeld() + " bytes of it)");
                }
                return;
            }
            ByteBuf frame = (ByteBuf) msg;
            try {
                if (phase == Phase.CLOSING) {
                    return;
                }
                SnapshotFrame f;
                try {
                    f = SnapshotFrames.parse(frame);
                } catch (InvalidProtocolBufferException e) {
                    if (phase == Phase.HANDSHAKE) {
                        refuse(HandshakeRefusal.NOT_A_HANDSHAKE, "the first frame (" + frame.readableBytes()
                                + " bytes) is not a handshake: " + e.getMessage());
                    } else {
                        stats.malformedFrames.incrementAndGet();
                        suspendAndClose("undecodable " + frame.readableBytes() + "-byte frame: " + e.getMessage());
                    }
                    return;
                }
                dispatch(f);
            } finally {
                frame.release();
            }
        }

        private void dispatch(SnapshotFrame f) {
            switch (phase) {
                case HANDSHAKE -> {
                    if (f.getBodyCase() != SnapshotFrame.BodyCase.HANDSHAKE) {
                        refuse(HandshakeRefusal.NOT_A_HANDSHAKE, "the first frame is a " + f.getBodyCase());
                    } else {
                        onHandshake(f.getHandshake());
                    }
                }
                case OFFER -> {
                    if (f.getBodyCase() != SnapshotFrame.BodyCase.OFFER) {
                        stats.malformedFrames.incrementAndGet();
                        suspendAndClose("expected an offer, got a " + f.getBodyCase());
                    } else {
                        onOffer(f.getOffer());
                    }
                }
                case RECEIVING -> {
                    switch (f.getBodyCase()) {
                        case CHUNK -> onChunk(f.getChunk());
                        case FINISH -> onFinish(f.getFinish());
                        default -> {
                            stats.malformedFrames.incrementAndGet();
                            fail(FailureReason.PROTOCOL_ERROR, "a " + f.getBodyCase() + " frame during the transfer");
                        }
                    }
                }
                case CLOSING -> {
                    // The tail of a connection this end is closing.
                }
            }
        }

        private void onHandshake(Handshake h) {
            HandshakeRefusal refusal = SnapshotFrames.check(h, config, senderAllowed);
            if (refusal == HandshakeRefusal.SENDER_ID) {
                refuse(refusal, "handshake " + SnapshotFrames.describe(h) + ": node "
                        + Long.toUnsignedString(h.getSenderNodeId()) + " is not a peer of node " + config.nodeId()
                        + ", which takes snapshots only from its peers (is the sender's membership newer than"
                        + " this node's peer set?)");
                return;
            }
            if (refusal != null) {
                refuse(refusal, "handshake " + SnapshotFrames.describe(h) + " does not match node " + config.nodeId()
                        + " of cluster " + Long.toUnsignedString(config.clusterId()) + ", snapshot protocol version "
                        + config.protocolVersion());
                return;
            }
            senderNodeId = h.getSenderNodeId();
            stats.handshakesAccepted.incrementAndGet();
            phase = Phase.OFFER;
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrames.handshake(config, senderNodeId)));
        }

        private void onOffer(Offer offer) {
            key = new SnapshotKey(senderNodeId, offer.getGroupId(), offer.getIndex(), offer.getTerm());
            totalBytes = offer.getTotalBytes();
            chunkBytes = offer.getChunkBytes();
            long maxChunkBytes = (long) config.maxFrameBytes() - SnapshotConfig.FRAME_OVERHEAD_BYTES;
            if (totalBytes < 0 || chunkBytes <= 0 || chunkBytes > maxChunkBytes) {
                refuseOffer(FailureReason.INVALID_OFFER, "offer of " + key + " with " + Long.toUnsignedString(totalBytes)
                        + " bytes in chunks of " + Integer.toUnsignedString(chunkBytes) + " bytes; this node takes chunks"
                        + " of at most " + maxChunkBytes + " bytes (raise its maxFrameBytes or lower the sender's chunkBytes)");
                return;
            }
            // Before the sink sees the offer: a size from the wire must not reach a file or an allocation unchecked.
            if (totalBytes > config.maxImageBytes()) {
                stats.imagesTooLarge.incrementAndGet();
                refuseOffer(FailureReason.INVALID_OFFER, "offer of " + key + " with " + totalBytes + " bytes; node "
                        + config.nodeId() + " takes images of at most maxImageBytes = " + config.maxImageBytes()
                        + " bytes (split the range, or raise maxImageBytes on the receiving node)");
                return;
            }
            if (recentlyCompleted.containsKey(key)) {
                // The outcome of a finished transfer was lost with its connection: answer it again.
                phase = Phase.CLOSING;
                ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                        .setOutcome(Outcome.newBuilder().setOk(true)).build())).addListener(ChannelFutureListener.CLOSE);
                return;
            }
            Connection older = active.get(key);
            if (older != null) {
                // The sender re-dialed before this end saw its old connection die: the newer one wins.
                older.suspendAndClose("node " + senderNodeId + " resumed " + key + " on a new connection");
            }
            if (active.size() >= config.maxConcurrentReceives()) {
                stats.busyRefusals.incrementAndGet();
                refuseOffer(FailureReason.BUSY, "node " + config.nodeId() + " is receiving "
                        + active.size() + " snapshots, its maximum; retry later");
                return;
            }
            if (!fitsBesideStored()) {
                return;
            }
            try {
                writer = sink.begin(key, totalBytes);
            } catch (IOException e) {
                LOG.log(Level.ERROR, "node " + config.nodeId() + ": cannot store " + key, e);
                refuseOffer(FailureReason.SINK_ERROR, "node " + config.nodeId() + " cannot store the snapshot: " + e);
                return;
            }
            long resume = writer.durableBytes();
            long written = writer.bytesWritten();
            if (written != resume) {
                writer.abort();
                writer = null;
                throw new IllegalStateException(key + ": the sink began with " + written + " bytes written but "
                        + resume + " durable");
            }
            active.put(key, this);
            updateActive();
            stats.offersAccepted.incrementAndGet();
            ackedBytes = resume;
            phase = Phase.RECEIVING;
            if (resume > 0) {
                LOG.log(Level.INFO, "node " + config.nodeId() + ": resuming " + key + " at byte " + resume + " of "
                        + totalBytes);
            }
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                    .setAccept(Accept.newBuilder().setResumeOffset(resume)).build()));
        }

        /**
         * Whether this offer fits in {@link SnapshotConfig#maxReceivedBytes} beside what the sink
         * stores and the full size of every transfer in progress (a transfer's room is taken when
         * it is accepted, so transfers running at once cannot together pass the bound); refuses the
         * offer if not.
         */
        private boolean fitsBesideStored() {
            long stored;
            try {
                stored = sink.storedBytesBeside(key);
            } catch (IOException e) {
                LOG.log(Level.ERROR, "node " + config.nodeId() + ": cannot measure the stored snapshots for " + key, e);
                refuseOffer(FailureReason.SINK_ERROR, "node " + config.nodeId() + " cannot measure its stored snapshots: "
                        + e);
                return false;
            }
            long reserved = 0;
            for (Connection c : active.values()) {
                reserved += c.totalBytes;
            }
            if (stored + reserved + totalBytes <= config.maxReceivedBytes()) {
                return true;
            }
            stats.capacityRefusals.incrementAndGet();
            refuseOffer(FailureReason.SINK_ERROR, "node " + config.nodeId() + " stores " + stored + " bytes of received"
                    + " snapshots and has " + reserved + " bytes taken by " + active.size() + " transfers in progress;"
                    + " this " + totalBytes + "-byte image would pass its maxReceivedBytes of " + config.maxReceivedBytes()
                    + ". The leader retries later, once images are installed or swept; if this persists, check that the"
                    + " runtime sweeps images its groups no longer need, or raise maxReceivedBytes");
            return false;
        }

        private void onChunk(Chunk chunk) {
            long offset = chunk.getOffset();
            int n = chunk.getData().size();
            long expected = writer.bytesWritten();
            if (offset != expected || n == 0 || n > chunkBytes || offset + n > totalBytes) {
                stats.malformedFrames.incrementAndGet();
                fail(FailureReason.PROTOCOL_ERROR, "a " + n + "-byte chunk at offset " + offset + ", expected one of 1.."
                        + chunkBytes + " bytes at offset " + expected + " of " + totalBytes);
                return;
            }
            ByteBuffer data = chunk.getData().asReadOnlyByteBuffer();
            chunkCrc.reset();
            chunkCrc.update(data.duplicate());
            int crc = (int) chunkCrc.getValue();
            if (crc != chunk.getCrc32C()) {
                stats.chunkChecksumFailures.incrementAndGet();
                fail(FailureReason.CHUNK_CHECKSUM, String.format("the %d-byte chunk at offset %d has CRC32C %08x, the"
                        + " sender computed %08x", n, offset, crc, chunk.getCrc32C()));
                return;
            }
            try {
                writer.write(offset, data);
            } catch (IOException e) {
                fail(FailureReason.SINK_ERROR, "writing " + n + " bytes at offset " + offset + " failed: " + e);
                return;
            }
            unsynced = true;
            stats.chunksReceived.incrementAndGet();
            stats.chunkBytesReceived.addAndGet(n);
        }

        /** One sync and one ack per read batch, not per chunk: the end of this round of reads. */
        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            if (phase == Phase.RECEIVING && unsynced) {
                acknowledge();
            }
            ctx.fireChannelReadComplete();
        }

        private boolean acknowledge() {
            long durable;
            try {
                durable = writer.sync();
            } catch (IOException e) {
                fail(FailureReason.SINK_ERROR, "sync failed: " + e);
                return false;
            }
            unsynced = false;
            if (durable > ackedBytes) {
                stats.bytesAcked.addAndGet(durable - ackedBytes);
                ackedBytes = durable;
                ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                        .setAck(Ack.newBuilder().setDurableBytes(durable)).build()));
            }
            return true;
        }

        private void onFinish(Finish finish) {
            if (writer.bytesWritten() != totalBytes) {
                stats.malformedFrames.incrementAndGet();
                fail(FailureReason.PROTOCOL_ERROR, "finish after " + writer.bytesWritten() + " of " + totalBytes + " bytes");
                return;
            }
            if (!acknowledge()) {
                return;
            }
            int crc = writer.checksum();
            if (crc != finish.getSnapshotCrc32C()) {
                stats.snapshotChecksumFailures.incrementAndGet();
                fail(FailureReason.SNAPSHOT_CHECKSUM, String.format("the %d bytes received have CRC32C %08x, the sender's"
                        + " snapshot has %08x", totalBytes, crc, finish.getSnapshotCrc32C()));
                return;
            }
            try {
                writer.finish(crc);
            } catch (IOException e) {
                fail(FailureReason.SINK_ERROR, "finishing failed: " + e);
                return;
            }
            writer = null;
            releaseSlot();
            recentlyCompleted.put(key, Boolean.TRUE);
            stats.receivesCompleted.incrementAndGet();
            phase = Phase.CLOSING;
            LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": received " + key + " (" + totalBytes + " bytes)");
            // Tell the listener first: when the sender learns "ok", this node already has the snapshot in hand.
            try {
                listener.onSnapshotReceived(key.groupId(), key.index(), key.term());
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "node " + config.nodeId() + ": the snapshot listener threw for " + key, e);
            }
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                    .setOutcome(Outcome.newBuilder().setOk(true)).build())).addListener(ChannelFutureListener.CLOSE);
        }

        /** The transfer is broken beyond resuming: discard it and tell the sender, which reports it failed. */
        private void fail(FailureReason reason, String detail) {
            stats.receivesFailed.incrementAndGet();
            if (writer != null) {
                writer.abort();
                writer = null;
                releaseSlot();
            }
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": " + key + " failed (" + reason + "): " + detail);
            phase = Phase.CLOSING;
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                            .setOutcome(Outcome.newBuilder().setOk(false).setReason(reason).setDetail(detail)).build()))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        private void refuseOffer(FailureReason reason, String detail) {
            LOG.log(reason == FailureReason.BUSY ? Level.DEBUG : Level.WARNING,
                    () -> "node " + config.nodeId() + ": refused " + key + " (" + reason + "): " + detail);
            phase = Phase.CLOSING;
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrame.newBuilder()
                            .setRefuse(Refuse.newBuilder().setReason(reason).setDetail(detail)).build()))
                    .addListener(ChannelFutureListener.CLOSE);
        }

        /** Keeps the durable prefix in the sink for a later offer of the same key. */
        private void suspend() {
            if (writer != null) {
                writer.suspend();
                writer = null;
                releaseSlot();
                stats.suspended.incrementAndGet();
            }
        }

        /** Closes the connection without an outcome and discards its transfer: nothing of it is kept. */
        void discardAndClose(String reason) {
            if (phase == Phase.CLOSING && writer == null) {
                return;
            }
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": closing the snapshot connection from "
                    + ctx.channel().remoteAddress() + (key == null ? "" : " (" + key + ")") + " and discarding what"
                    + " it sent: " + reason);
            if (writer != null) {
                writer.abort();
                writer = null;
                releaseSlot();
                stats.receivesFailed.incrementAndGet();
            }
            phase = Phase.CLOSING;
            ctx.close();
        }

        void suspendAndClose(String reason) {
            if (phase == Phase.CLOSING && writer == null) {
                return;
            }
            LOG.log(Level.INFO, "node " + config.nodeId() + ": closing the snapshot connection from "
                    + ctx.channel().remoteAddress() + (key == null ? "" : " (" + key + ")") + ": " + reason);
            suspend();
            phase = Phase.CLOSING;
            ctx.close();
        }

        private void releaseSlot() {
            if (key != null && active.get(key) == this) {
                active.remove(key);
                updateActive();
            }
        }

        private void refuse(HandshakeRefusal reason, String detail) {
            stats.refused(reason);
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": closing snapshot connection from "
                    + ctx.channel().remoteAddress() + ": refused handshake (" + reason + "): " + detail);
            phase = Phase.CLOSING;
            ctx.close();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (phase == Phase.CLOSING) {
                return;
            }
            if (cause instanceof TooLongFrameException) {
                stats.oversizedFrames.incrementAndGet();
                suspendAndClose("frame over the limit of " + config.maxFrameBytes() + " bytes: " + cause.getMessage());
            } else if (cause instanceof DecoderException) {
                stats.malformedFrames.incrementAndGet();
                suspendAndClose("undecodable frame: " + cause.getMessage());
            } else if (cause instanceof IOException) {
                suspendAndClose(cause.toString());
            } else {
                // Not the peer's fault: a sink or listener bug. The transfer is suspended, not lost.
                LOG.log(Level.ERROR, "node " + config.nodeId() + ": failure on the snapshot connection from "
                        + ctx.channel().remoteAddress() + "; closing it", cause);
                suspendAndClose("internal failure: " + cause);
            }
        }
    }
}
