package io.flotilla.transport.snapshot;

import io.flotilla.transport.FrameCodec;
import io.flotilla.transport.LengthPrefixedFrameDecoder;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.raft.Check;
import io.flotilla.transport.HandshakeRefusal;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.transport.snapshot.proto.FailureReason;
import io.flotilla.transport.snapshot.proto.Finish;
import io.flotilla.transport.snapshot.proto.Offer;
import io.flotilla.transport.snapshot.proto.Outcome;
import io.flotilla.transport.snapshot.proto.Refuse;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * The sending end of snapshot streaming on one node: for each {@link #send} it reads the snapshot
 * from a {@link SnapshotSource} and streams it to the peer's {@link SnapshotReceiver} over a
 * connection of its own, in CRC32C-checked chunks, keeping at most
 * {@link SnapshotConfig#windowBytes} unacknowledged and writing only while the connection is
 * writable. A broken connection is re-dialed with backoff and the transfer resumes from the prefix
 * the receiver acknowledged. The end of every transfer, success or failure, is reported once to
 * the {@link Listener}.
 *
 * <p>Threads: {@link #send}, {@link #addPeer}, {@link #removePeer} and {@link #close} may be called
 * from any thread and never block (except {@code close}). One Netty event-loop thread owns every
 * transfer, connection and the source's readers; at most {@link SnapshotConfig#maxConcurrentSends}
 * transfers hold a connection at once, the rest wait in a FIFO queue.
 */
public final class SnapshotSender implements AutoCloseable {
    static final System.Logger LOG = System.getLogger(SnapshotSender.class.getName());

    /** Where the end of each transfer is reported; the runtime turns it into {@code RaftNode.reportSnapshot}. */
    public interface Listener {
        /**
         * The snapshot of {@code groupId} at {@code index} reached {@code peerNodeId} complete and
         * verified ({@code ok}), or will not ({@code !ok}: Raft asks again later). Called exactly once
         * per transfer {@link #send} queued, on the sender's I/O thread: it must not block.
         */
        void onSnapshotSent(long peerNodeId, long groupId, long index, boolean ok);
    }

    /** What {@link #send} did. */
    public enum SendResult {
        /** Queued; the listener hears of it. */
        QUEUED,
        /** A transfer to that peer for that group is queued or running; its report comes first. */
        ALREADY_QUEUED,
        /** {@link SnapshotConfig#maxQueuedSends} transfers are waiting or running; try again later. */
        QUEUE_FULL,
        /** The sender is closed. */
        CLOSED
    }

    private enum Phase { HANDSHAKE, OFFERED, STREAMING, FINISHING }

    private record PeerGroup(long peerNodeId, long groupId) {
    }

    /** One requested transfer, over however many connections it takes. Owned by the loop after {@code send}. */
    private static final class Transfer {
        final PeerGroup id;
        final long index;
        final long term;
        /** When {@code send} queued it: a sent snapshot's duration counts from here. */
        final long queuedNs = System.nanoTime();
        SnapshotSource.Reader reader;
        long backoffMs;
        int attempts;
        /** The attempt holding a send slot, or null while queued or backing off. */
        Attempt current;
        boolean done;
        /** Written by the loop, read by anyone (progress reports): the current attempt's sizes. */
        volatile long ackedBytes;
        volatile long totalBytes;

        Transfer(PeerGroup id, long index, long term, long backoffMs) {
            this.id = id;
            this.index = index;
            this.term = term;
            this.backoffMs = backoffMs;
        }

        @Override
        public String toString() {
            return "snapshot of group " + id.groupId + " at index " + index + " term " + term + " to node " + id.peerNodeId;
        }
    }

    private final SnapshotConfig config;
    private final SnapshotSource source;
    private final Listener listener;
    private final SnapshotFailpoints failpoints;
    private final SnapshotStats stats = new SnapshotStats();
    private final EventLoopGroup group;
    private final EventLoop loop;
    private final Map<Long, InetSocketAddress> peers = new ConcurrentHashMap<>();
    /** Every transfer accepted by {@code send} and not yet reported. */
    private final Map<PeerGroup, Transfer> pending = new ConcurrentHashMap<>();
    // Owned by the loop.
    private final ArrayDeque<Transfer> ready = new ArrayDeque<>();
    /** Invariant: {@code active <= maxConcurrentSends}, and equals the transfers whose {@code current} is set. */
    private int active;
    private final CRC32C chunkCrc = new CRC32C();
    private final SendRate rate = new SendRate();
    private volatile boolean closed;
    /** Told of each snapshot sent, on the loop; set by any thread. */
    private volatile SnapshotObserver observer = SnapshotObserver.NONE;

    private SnapshotSender(SnapshotConfig config, SnapshotSource source, Listener listener, SnapshotFailpoints failpoints) {
        this.config = config;
        this.source = source;
        this.listener = listener;
        this.failpoints = failpoints;
        this.group = new MultiThreadIoEventLoopGroup(1,
                new DefaultThreadFactory("flotilla-snapshot-out-" + config.nodeId(), true), NioIoHandler.newFactory());
        this.loop = group.next();
    }

    /**
     * How far a queued or running transfer got: bytes the follower acknowledged as durable of its
     * current attempt's total (0 of 0 before the first connection), and connections dialed.
     */
    public record Progress(long ackedBytes, long totalBytes, int attempts) {
    }

    /**
     * Any thread: the progress of the transfer of {@code groupId}'s snapshot to {@code peerNodeId},
     * or null if none. For operators only: the sizes are volatile, {@code attempts} is the loop's
     * plain field read without a fence (a count for display, possibly one behind).
     */
    public Progress progress(long peerNodeId, long groupId) {
        Transfer t = pending.get(new PeerGroup(peerNodeId, groupId));
        return t == null ? null : new Progress(t.ackedBytes, t.totalBytes, t.attempts);
    }

    /**
     * Limits the bytes per second all of this node's snapshot transfers send together (0: no
     * limit), from now on. Any thread.
     */
    public void rateLimit(long bytesPerSecond) {
        rate.limit(bytesPerSecond);
    }

    public static SnapshotSender start(SnapshotConfig config, SnapshotSource source, Listener listener) {
        return start(config, source, listener, new SnapshotFailpoints());
    }

    /** Starts a sender whose chunks pass through {@code failpoints} (tests arm them). */
    public static SnapshotSender start(SnapshotConfig config, SnapshotSource source, Listener listener,
                                       SnapshotFailpoints failpoints) {
        return new SnapshotSender(Objects.requireNonNull(config, "config"), Objects.requireNonNull(source, "source"),
                Objects.requireNonNull(listener, "listener"), Objects.requireNonNull(failpoints, "failpoints"));
    }

    /** From now on, {@code observer} hears of each snapshot sent (any thread). */
    public void observe(SnapshotObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    public SnapshotStats stats() {
        return stats;
    }

    /**
     * Where {@code peerNodeId}'s snapshot receiver listens. Replaces an earlier address: the next
     * connection of every transfer to that peer (a retry included) dials the new one.
     */
    public void addPeer(long peerNodeId, InetSocketAddress address) {
        Check.argument(peerNodeId > 0 && peerNodeId != config.nodeId(),
                "peer node id %d must be positive and not this node's id %d", peerNodeId, config.nodeId());
        peers.put(peerNodeId, Objects.requireNonNull(address, "address"));
    }

    /** Forgets the peer; its transfers fail at their next connection. */
    public void removePeer(long peerNodeId) {
        peers.remove(peerNodeId);
    }

    /**
     * Queues the transfer of the snapshot of {@code groupId} at {@code index} / {@code term} to
     * {@code peerNodeId}. Never blocks; the outcome reaches {@link Listener#onSnapshotSent} if
     * the result is {@link SendResult#QUEUED}.
     */
    public SendResult send(long peerNodeId, long groupId, long index, long term) {
        Check.argument(peerNodeId > 0 && peerNodeId != config.nodeId(),
                "peer node id %d must be positive and not this node's id %d", peerNodeId, config.nodeId());
        if (closed) {
            return SendResult.CLOSED;
        }
        if (pending.size() >= config.maxQueuedSends()) {
            return SendResult.QUEUE_FULL;
        }
        PeerGroup id = new PeerGroup(peerNodeId, groupId);
        Transfer t = new Transfer(id, index, term, config.retryBackoffMinMs());
        if (pending.putIfAbsent(id, t) != null) {
            return SendResult.ALREADY_QUEUED;
        }
        stats.queuedSends.set(pending.size());
        try {
            loop.execute(() -> {
                ready.add(t);
                admit();
            });
        } catch (RejectedExecutionException e) {
            pending.remove(id, t);
            return SendResult.CLOSED;
        }
        stats.sendsRequested.incrementAndGet();
        return SendResult.QUEUED;
    }

    /** Lifts {@link SnapshotFailpoints#holdAtOffset} and lets every held transfer go on. */
    void releaseHold() {
        failpoints.holdAtOffset = Long.MAX_VALUE;
        loop.execute(() -> {
            for (Transfer t : pending.values()) {
                if (t.current != null) {
                    t.current.pump();
                }
            }
        });
    }

    /** Starts queued transfers while there are free slots. */
    private void admit() {
        while (!closed && active < config.maxConcurrentSends() && !ready.isEmpty()) {
            Transfer t = ready.poll();
            if (!t.done) {
                startAttempt(t);
            }
        }
    }

    private void startAttempt(Transfer t) {
        if (t.reader == null) {
            try {
                t.reader = source.open(t.id.groupId, t.index, t.term);
            } catch (IOException e) {
                complete(t, false, "the snapshot cannot be read: " + e);
                return;
            }
            if (t.reader == null) {
                complete(t, false, "this node no longer holds that snapshot");
                return;
            }
        }
        InetSocketAddress address = peers.get(t.id.peerNodeId);
        if (address == null) {
            complete(t, false, "node " + t.id.peerNodeId + " is not a known peer (addPeer it first)");
            return;
        }
        t.attempts++;
        stats.attempts.incrementAndGet();
        Attempt attempt = new Attempt(t);
        t.current = attempt;
        active++;
        stats.activeSends.set(active);
        SnapshotStats.raiseTo(stats.maxActiveSends, active);
        Bootstrap bootstrap = FrameCodec.clientBootstrap(loop, config.connectTimeoutMs(),
                config.writeBufferHighWaterMarkBytes(), config.maxFrameBytes(), () -> attempt);
        ChannelFuture connect = bootstrap.connect(address);
        attempt.channel = connect.channel();
        connect.addListener((ChannelFutureListener) done -> {
            if (!done.isSuccess()) {
                broken(attempt, "dialing " + address + " failed: " + done.cause(), false);
            }
        });
    }

    private void releaseSlot(Attempt attempt) {
        Transfer t = attempt.transfer;
        Check.state(t.current == attempt, "%s: releasing a slot it does not hold", t);
        t.current = null;
        active--;
        stats.activeSends.set(active);
        attempt.stop();
    }

    /** The attempt ended without an outcome: retry with backoff, unless attempts are used up. */
    private void broken(Attempt attempt, String detail, boolean busy) {
        Transfer t = attempt.transfer;
        if (t.current != attempt) {
            return;
        }
        releaseSlot(attempt);
        if (closed) {
            complete(t, false, "the sender is closing");
        } else if (t.attempts >= config.maxAttempts()) {
            complete(t, false, "gave up after " + t.attempts + " connections; the last: " + detail);
        } else {
            long delayMs = t.backoffMs;
            t.backoffMs = Math.min(config.retryBackoffMaxMs(), t.backoffMs * 2);
            stats.retries.incrementAndGet();
            if (busy) {
                stats.busyRetries.incrementAndGet();
            }
            LOG.log(busy ? Level.DEBUG : Level.INFO, () -> "node " + config.nodeId() + ": " + t + ": " + detail
                    + "; retrying in " + delayMs + " ms");
            try {
                loop.schedule(() -> {
                    if (!t.done) {
                        ready.add(t);
                        admit();
                    }
                }, delayMs, TimeUnit.MILLISECONDS);
            } catch (RejectedExecutionException e) {
                complete(t, false, "the sender is closing");
            }
        }
        admit();
    }

    /** Ends the transfer for good and reports it. */
    private void complete(Transfer t, boolean ok, String detail) {
        if (t.done) {
            return;
        }
        t.done = true;
        if (t.current != null) {
            releaseSlot(t.current);
        }
        if (t.reader != null) {
            if (ok) {
                observer.sent(t.reader.totalBytes(), System.nanoTime() - t.queuedNs);
            }
            t.reader.close();
            t.reader = null;
        }
        pending.remove(t.id, t);
        stats.queuedSends.set(pending.size());
        (ok ? stats.sendsSucceeded : stats.sendsFailed).incrementAndGet();
        if (ok) {
            LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": sent " + t);
        } else {
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": " + t + " failed: " + detail);
        }
        try {
            listener.onSnapshotSent(t.id.peerNodeId, t.id.groupId, t.index, ok);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "node " + config.nodeId() + ": the snapshot listener threw for " + t, e);
        }
        admit();
    }

    /**
     * Reports every transfer not yet reported as failed, closes their connections and shuts the
     * event loop down. Idempotent.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        Runnable failAll = () -> {
            for (Transfer t : new ArrayList<>(pending.values())) {
                complete(t, false, "the sender is closing");
            }
        };
        if (loop.inEventLoop()) {
            failAll.run();
        } else {
            loop.submit(failAll).awaitUninterruptibly(SnapshotReceiver.SHUTDOWN_TIMEOUT_MS);
        }
        if (!group.shutdownGracefully(0, SnapshotReceiver.SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS)
                .awaitUninterruptibly(SnapshotReceiver.SHUTDOWN_TIMEOUT_MS + 1_000)) {
            LOG.log(Level.WARNING, "node " + config.nodeId() + ": snapshot sender did not stop within "
                    + (SnapshotReceiver.SHUTDOWN_TIMEOUT_MS + 1_000) + " ms");
        }
    }

    /** One connection of a transfer and its protocol state. Owned by the loop. */
    private final class Attempt extends ChannelInboundHandlerAdapter {
        final Transfer transfer;
        Channel channel;
        private Phase phase = Phase.HANDSHAKE;
        private long totalBytes;
        /** Invariant: {@code acked <= sent <= totalBytes} and {@code sent - acked <= windowBytes}. */
        private long sent;
        private long acked;
        private long lastReadNs;
        /** A pump is scheduled for when the rate limit lets the next chunk go. */
        private boolean rateWaiting;
        private ScheduledFuture<?> timer;

        Attempt(Transfer transfer) {
            this.transfer = transfer;
        }

        private boolean isCurrent() {
            return transfer.current == this;
        }

        /** Called once the slot is released: no more events of this connection matter. */
        void stop() {
            if (timer != null) {
                timer.cancel(false);
            }
            if (channel != null) {
                channel.close();
            }
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            if (!isCurrent()) {
                ctx.close();
                return;
            }
            totalBytes = transfer.reader.totalBytes();
            transfer.totalBytes = totalBytes;
            lastReadNs = System.nanoTime();
            long periodMs = Math.max(1, Math.min(config.handshakeTimeoutMs(), config.idleTimeoutMs()) / 4);
            timer = ctx.executor().scheduleAtFixedRate(this::checkTimeouts, periodMs, periodMs, TimeUnit.MILLISECONDS);
            ctx.writeAndFlush(SnapshotFrames.encode(ctx.alloc(), SnapshotFrames.handshake(config,
                    transfer.id.peerNodeId)));
            ctx.fireChannelActive();
        }

        private void checkTimeouts() {
            if (!isCurrent()) {
                return;
            }
            long idleMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastReadNs);
            if (phase == Phase.HANDSHAKE && idleMs > config.handshakeTimeoutMs()) {
                stats.refused(HandshakeRefusal.HANDSHAKE_TIMEOUT);
                broken(this, "no handshake answer within " + config.handshakeTimeoutMs() + " ms", false);
            } else if (idleMs > config.idleTimeoutMs()) {
                broken(this, "nothing arrived for " + idleMs + " ms", false);
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            broken(this, "the connection closed (" + phase + ", " + acked + " of " + totalBytes
                    + " bytes acknowledged)", false);
            ctx.fireChannelInactive();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) {
                pump();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof LengthPrefixedFrameDecoder.Truncated) {
                return; // the receiver went away mid-frame: channelInactive follows
            }
            ByteBuf frame = (ByteBuf) msg;
            try {
                if (!isCurrent()) {
                    return;
                }
                lastReadNs = System.nanoTime();
                SnapshotFrame f;
                try {
                    f = SnapshotFrames.parse(frame);
                } catch (InvalidProtocolBufferException e) {
                    stats.malformedFrames.incrementAndGet();
                    broken(this, "undecodable " + frame.readableBytes() + "-byte frame: " + e.getMessage(), false);
                    return;
                }
                dispatch(f);
            } finally {
                frame.release();
            }
        }

        private void dispatch(SnapshotFrame f) {
            SnapshotFrame.BodyCase body = f.getBodyCase();
            if (body == SnapshotFrame.BodyCase.OUTCOME && phase != Phase.HANDSHAKE) {
                Outcome o = f.getOutcome();
                complete(transfer, o.getOk(), o.getOk() ? "" : "node " + transfer.id.peerNodeId + " failed it ("
                        + o.getReason() + "): " + o.getDetail());
                return;
            }
            switch (phase) {
                case HANDSHAKE -> {
                    if (body != SnapshotFrame.BodyCase.HANDSHAKE) {
                        stats.refused(HandshakeRefusal.NOT_A_HANDSHAKE);
                        broken(this, "the answer is a " + body + ", not a handshake", false);
                    } else {
                        onHandshake(f.getHandshake());
                    }
                }
                case OFFERED -> {
                    if (body == SnapshotFrame.BodyCase.ACCEPT) {
                        onAccept(f.getAccept().getResumeOffset());
                    } else if (body == SnapshotFrame.BodyCase.REFUSE) {
                        onRefuse(f.getRefuse());
                    } else {
                        unexpected(body);
                    }
                }
                case STREAMING, FINISHING -> {
                    if (body == SnapshotFrame.BodyCase.ACK) {
                        onAck(f.getAck().getDurableBytes());
                    } else {
                        unexpected(body);
                    }
                }
            }
        }

        private void unexpected(SnapshotFrame.BodyCase body) {
            stats.malformedFrames.incrementAndGet();
            broken(this, "node " + transfer.id.peerNodeId + " sent a " + body + " frame while " + phase, false);
        }

        private void onHandshake(Handshake h) {
            HandshakeRefusal refusal = SnapshotFrames.check(h, config, sender -> sender == transfer.id.peerNodeId);
            if (refusal != null) {
                stats.refused(refusal);
                broken(this, "refused the answer (" + refusal + "): " + SnapshotFrames.describe(h) + " is not node "
                        + transfer.id.peerNodeId + " of cluster " + Long.toUnsignedString(config.clusterId()), false);
                return;
            }
            stats.handshakesAccepted.incrementAndGet();
            phase = Phase.OFFERED;
            channel.writeAndFlush(SnapshotFrames.encode(channel.alloc(), SnapshotFrame.newBuilder()
                    .setOffer(Offer.newBuilder().setGroupId(transfer.id.groupId).setIndex(transfer.index)
                            .setTerm(transfer.term).setTotalBytes(totalBytes).setChunkBytes(config.chunkBytes()))
                    .build()));
        }

        private void onAccept(long resumeOffset) {
            if (resumeOffset < 0 || resumeOffset > totalBytes) {
                stats.malformedFrames.incrementAndGet();
                broken(this, "node " + transfer.id.peerNodeId + " accepted at offset "
                        + Long.toUnsignedString(resumeOffset) + " of " + totalBytes + " bytes", false);
                return;
            }
            sent = acked = resumeOffset;
            transfer.ackedBytes = acked;
            if (resumeOffset > 0) {
                stats.resumes.incrementAndGet();
                stats.resumedBytes.addAndGet(resumeOffset);
                LOG.log(Level.INFO, "node " + config.nodeId() + ": resuming " + transfer + " at byte " + resumeOffset
                        + " of " + totalBytes);
            }
            transfer.backoffMs = config.retryBackoffMinMs();
            phase = Phase.STREAMING;
            pump();
        }

        private void onRefuse(Refuse refuse) {
            if (refuse.getReason() == FailureReason.BUSY) {
                broken(this, "node " + transfer.id.peerNodeId + " is busy: " + refuse.getDetail(), true);
            } else {
                complete(transfer, false, "node " + transfer.id.peerNodeId + " refused it (" + refuse.getReason()
                        + "): " + refuse.getDetail());
            }
        }

        private void onAck(long durableBytes) {
            if (durableBytes < acked || durableBytes > sent) {
                stats.malformedFrames.incrementAndGet();
                broken(this, "node " + transfer.id.peerNodeId + " acknowledged " + Long.toUnsignedString(durableBytes)
                        + " bytes with " + acked + " acknowledged and " + sent + " sent", false);
                return;
            }
            acked = durableBytes;
            transfer.ackedBytes = durableBytes;
            pump();
        }

        /**
         * Writes chunks while the window and the connection's write buffer allow, then the finish
         * frame once every chunk is out; one flush at the end.
         */
        void pump() {
            if (!isCurrent() || phase != Phase.STREAMING) {
                return;
            }
            boolean wrote = false;
            while (sent < totalBytes && channel.isWritable()) {
                int n = (int) Math.min(config.chunkBytes(), totalBytes - sent);
                if (sent + n - acked > config.windowBytes() || sent >= failpoints.holdAtOffset) {
                    break;
                }
                long waitNs = rate.take(n, System.nanoTime());
                if (waitNs > 0) {
                    if (!rateWaiting) {
                        rateWaiting = true;
                        channel.eventLoop().schedule(() -> {
                            rateWaiting = false;
                            pump();
                        }, waitNs, TimeUnit.NANOSECONDS);
                    }
                    break;
                }
                ByteBuf frame;
                try {
                    frame = chunkFrame(sent, n);
                } catch (IOException e) {
                    complete(transfer, false, "reading " + n + " bytes at offset " + sent + " failed: " + e);
                    return;
                }
                channel.write(frame);
                wrote = true;
                sent += n;
                stats.chunksSent.incrementAndGet();
                stats.chunkBytesSent.addAndGet(n);
                SnapshotStats.raiseTo(stats.maxInFlightBytes, sent - acked);
                long cutAt = failpoints.cutConnectionAtOffset.get();
                if (cutAt != SnapshotFailpoints.DISARMED && sent >= cutAt
                        && failpoints.cutConnectionAtOffset.compareAndSet(cutAt, SnapshotFailpoints.DISARMED)) {
                    channel.flush();
                    channel.close();
                    return;
                }
            }
            if (sent == totalBytes) {
                phase = Phase.FINISHING;
                channel.write(SnapshotFrames.encode(channel.alloc(), SnapshotFrame.newBuilder()
                        .setFinish(Finish.newBuilder().setSnapshotCrc32C(transfer.reader.checksum())).build()));
                wrote = true;
            }
            if (wrote) {
                channel.flush();
            }
        }

        /** Reads the chunk straight into the frame buffer behind its headers: no copy, no heap array. */
        private ByteBuf chunkFrame(long offset, int n) throws IOException {
            SnapshotFrames.ChunkLayout layout = SnapshotFrames.ChunkLayout.of(offset, n);
            ByteBuf buf = channel.alloc().buffer(layout.frameBytes(), layout.frameBytes());
            try {
                ByteBuffer data = buf.nioBuffer(layout.dataIndex(), n);
                ByteBuffer dst = data.duplicate();
                transfer.reader.read(offset, dst);
                if (dst.hasRemaining()) {
                    throw new IOException("the source filled " + (n - dst.remaining()) + " of " + n + " bytes");
                }
                long badRead = SnapshotFailpoints.take(failpoints.corruptSourceAtOffset, offset, offset + n);
                if (badRead != SnapshotFailpoints.DISARMED) {
                    flipBit(buf, layout.dataIndex() + (int) (badRead - offset));
                }
                chunkCrc.reset();
                chunkCrc.update(data.duplicate());
                int crc = (int) chunkCrc.getValue();
                long badWire = SnapshotFailpoints.take(failpoints.corruptChunkAtOffset, offset, offset + n);
                if (badWire != SnapshotFailpoints.DISARMED) {
                    flipBit(buf, layout.dataIndex() + (int) (badWire - offset));
                }
                SnapshotFrames.writeChunkHeader(buf, layout, offset, crc);
                return buf;
            } catch (IOException | RuntimeException e) {
                buf.release();
                throw e;
            }
        }

        private void flipBit(ByteBuf buf, int index) {
            buf.setByte(index, buf.getByte(index) ^ 0x10);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!isCurrent()) {
                return;
            }
            if (cause instanceof TooLongFrameException) {
                stats.oversizedFrames.incrementAndGet();
                broken(this, "frame over the limit of " + config.maxFrameBytes() + " bytes: " + cause.getMessage(), false);
            } else if (cause instanceof DecoderException) {
                stats.malformedFrames.incrementAndGet();
                broken(this, "undecodable frame: " + cause.getMessage(), false);
            } else if (cause instanceof IOException) {
                broken(this, cause.toString(), false);
            } else {
                LOG.log(Level.ERROR, "node " + config.nodeId() + ": failure streaming " + transfer, cause);
                broken(this, "internal failure: " + cause, false);
            }
        }
    }
}
