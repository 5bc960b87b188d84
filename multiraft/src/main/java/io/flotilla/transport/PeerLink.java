package io.flotilla.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.transport.proto.Handshake;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoop;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * This node's outbound connection to one peer: dials it, sends the handshake, checks the answer,
 * and re-dials with exponential backoff whenever the dial fails or the connection drops. All of
 * this runs on one event loop chosen at creation; {@link #established()} is read by the threads
 * that call {@code send}, and {@link #close()} may be called from any thread.
 *
 * <p>Invariant: {@code established} is non-null only while its channel's handshake has been
 * answered by the right node, so a batch never goes out before the peer accepted this node.
 */
final class PeerLink {
    private final PeerTransport transport;
    private final TransportConfig config;
    private final TransportStats stats;
    final long peerNodeId;
    final InetSocketAddress address;
    private final EventLoop loop;

    /** The connection batches go out on; null while down. Written on {@code loop}, read by senders. */
    private volatile Channel established;
    /** The channel being dialed or in use, so that {@link #close()} can close it from any thread. */
    private volatile Channel current;
    private volatile ScheduledFuture<?> redial;
    private volatile boolean closed;
    /** The delay before the next re-dial; doubles per failure, back to the minimum on a handshake. Loop only. */
    private long backoffMs;

    PeerLink(PeerTransport transport, long peerNodeId, InetSocketAddress address, EventLoop loop) {
        this.transport = transport;
        this.config = transport.config();
        this.stats = transport.stats();
        this.peerNodeId = peerNodeId;
        this.address = address;
        this.loop = loop;
        this.backoffMs = config.reconnectBackoffMinMs();
    }

    void start() {
        loop.execute(this::dial);
    }

    Channel established() {
        return established;
    }

    void close() {
        closed = true;
        ScheduledFuture<?> pending = redial;
        if (pending != null) {
            pending.cancel(false);
        }
        Channel channel = current;
        if (channel != null) {
            channel.close();
        }
    }

    private void dial() {
        if (closed) {
            return;
        }
        Bootstrap bootstrap = FrameCodec.clientBootstrap(loop, config.connectTimeoutMs(),
                config.writeBufferHighWaterMarkBytes(), config.maxFrameBytes(), ReplyHandler::new);
        ChannelFuture connect = bootstrap.connect(address);
        current = connect.channel();
        connect.addListener((ChannelFutureListener) done -> {
            if (!done.isSuccess()) {
                PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": dialing node " + peerNodeId
                        + " at " + address + " failed: " + done.cause());
                scheduleRedial();
                return;
            }
            Channel channel = done.channel();
            channel.closeFuture().addListener((ChannelFutureListener) c -> onClosed(channel));
            channel.writeAndFlush(FrameCodec.encode(channel.alloc(), transport.handshakeTo(peerNodeId)));
        });
    }

    private void onClosed(Channel channel) {
        if (established == channel) {
            established = null;
            if (!closed) {
                PeerTransport.LOG.log(Level.INFO, "node " + config.nodeId() + ": connection to node " + peerNodeId
                        + " at " + address + " lost; re-dialing with backoff");
            }
        }
        scheduleRedial();
    }

    private void scheduleRedial() {
        if (closed) {
            return;
        }
        long delayMs = backoffMs;
        backoffMs = Math.min(config.reconnectBackoffMaxMs(), backoffMs * 2);
        stats.reconnects.incrementAndGet();
        try {
            redial = loop.schedule(this::dial, delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // The event loop is shutting down: the transport is closing.
        }
    }

    /** Reads the acceptor's handshake answer; after it the acceptor must send nothing. One per channel. */
    private final class ReplyHandler extends ChannelInboundHandlerAdapter {
        private boolean answered;
        private boolean closing;
        private ScheduledFuture<?> handshakeTimeout;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            handshakeTimeout = ctx.executor().schedule(() -> {
                if (!answered && !closing) {
                    refuse(ctx, HandshakeRefusal.HANDSHAKE_TIMEOUT,
                            "no answer within " + config.handshakeTimeoutMs() + " ms");
                }
            }, config.handshakeTimeoutMs(), TimeUnit.MILLISECONDS);
            ctx.fireChannelActive();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (handshakeTimeout != null) {
                handshakeTimeout.cancel(false);
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof LengthPrefixedFrameDecoder.Truncated) {
                return; // the acceptor went away mid-answer: the close re-dials
            }
            ByteBuf frame = (ByteBuf) msg;
            try {
                if (closing) {
                    return;
                }
                if (answered) {
                    stats.malformedFrames.incrementAndGet();
                    closeWith(ctx, "node " + peerNodeId + " sent a frame after its handshake answer; acceptors send nothing else");
                    return;
                }
                onAnswer(ctx, frame);
            } finally {
                frame.release();
            }
        }

        private void onAnswer(ChannelHandlerContext ctx, ByteBuf frame) {
            Handshake h;
            try {
                h = Handshake.parseFrom(ByteBufUtil.getBytes(frame));
            } catch (InvalidProtocolBufferException e) {
                refuse(ctx, HandshakeRefusal.NOT_A_HANDSHAKE, "the answer is not a handshake: " + e.getMessage());
                return;
            }
            HandshakeRefusal refusal = FrameCodec.check(h, config, sender -> sender == peerNodeId);
            if (refusal != null) {
                refuse(ctx, refusal, "answer " + FrameCodec.describe(h) + " is not from node " + peerNodeId
                        + " of " + transport.describeSelf());
                return;
            }
            answered = true;
            handshakeTimeout.cancel(false);
            backoffMs = config.reconnectBackoffMinMs();
            stats.handshakesAccepted.incrementAndGet();
            if (closed) {
                ctx.close();
                return;
            }
            established = ctx.channel();
            PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": connected to node " + peerNodeId
                    + " at " + address);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (closing) {
                return;
            }
            String peerFault = FrameCodec.peerFault(cause, stats, config.maxFrameBytes());
            if (peerFault != null) {
                closeWith(ctx, peerFault);
            } else if (cause instanceof IOException) {
                closing = true;
                PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": connection to node "
                        + peerNodeId + ": " + cause);
                ctx.close();
            } else {
                closing = true;
                PeerTransport.LOG.log(Level.ERROR, "node " + config.nodeId() + ": failure on the connection to node "
                        + peerNodeId + "; closing it", cause);
                ctx.close();
            }
        }

        private void refuse(ChannelHandlerContext ctx, HandshakeRefusal reason, String detail) {
            stats.refused(reason);
            closeWith(ctx, "refused handshake (" + reason + "): " + detail);
        }

        private void closeWith(ChannelHandlerContext ctx, String reason) {
            closing = true;
            PeerTransport.LOG.log(Level.WARNING, "node " + config.nodeId() + ": closing connection to node "
                    + peerNodeId + " at " + address + ": " + reason);
            ctx.close();
        }
    }
}
