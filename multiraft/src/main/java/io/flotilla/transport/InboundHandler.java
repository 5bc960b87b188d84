package io.flotilla.transport;

import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.raft.Message;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.wire.MalformedMessageException;
import io.flotilla.wire.MessageBatchCodec;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The accepting end of one peer connection: checks the handshake, answers it, then decodes each
 * batch frame, drops messages that are invalid or do not come from the handshake's sender to this
 * node, and hands the rest to the listener. One per accepted channel, owned by that channel's
 * event-loop thread.
 *
 * <p>A fault that leaves the stream untrustworthy — a refused or missing handshake, a frame over the
 * limit, a body that does not parse, a connection that ends inside a frame — closes this connection
 * with a logged, counted reason; nothing of it reaches the listener, and the rest of the node
 * carries on. A message that parses but is invalid, or forged, is dropped alone (logged, counted):
 * the connection carries every group's messages, and the others in its frame are delivered.
 */
final class InboundHandler extends ChannelInboundHandlerAdapter {
    private final PeerTransport transport;
    private final TransportConfig config;
    private final TransportStats stats;
    /** 0 until the handshake is accepted; then the node every message here must come from. */
    private long senderNodeId;
    /** Set when this end decided to close: later frames and errors are the tail of a dead connection. */
    private boolean closing;
    private ScheduledFuture<?> handshakeTimeout;
    /** Invalid messages of the frame being decoded, and the first one's reason: reset per frame. */
    private int invalidInFrame;
    private String firstInvalid;
    private final MessageBatchCodec.InvalidMessages onInvalid = this::invalidMessages;

    InboundHandler(PeerTransport transport) {
        this.transport = transport;
        this.config = transport.config();
        this.stats = transport.stats();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        handshakeTimeout = ctx.executor().schedule(() -> {
            if (senderNodeId == 0 && !closing) {
                refuse(ctx, HandshakeRefusal.HANDSHAKE_TIMEOUT,
                        "no handshake within " + config.handshakeTimeoutMs() + " ms");
            }
        }, config.handshakeTimeoutMs(), TimeUnit.MILLISECONDS);
        ctx.fireChannelActive();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimeout != null) {
            handshakeTimeout.cancel(false);
        }
        if (senderNodeId != 0) {
            transport.inboundClosed(senderNodeId, ctx.channel());
            PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": inbound connection from node "
                    + senderNodeId + " (" + ctx.channel().remoteAddress() + ") closed");
        }
        ctx.fireChannelInactive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof LengthPrefixedFrameDecoder.Truncated truncated) {
            if (!closing) {
                stats.malformedFrames.incrementAndGet();
                closeWith(ctx, "the connection ended inside a frame (" + truncated.bytesHeld() + " bytes of it arrived)");
            }
            return;
        }
        ByteBuf frame = (ByteBuf) msg;
        try {
            if (closing) {
                return;
            }
            if (senderNodeId == 0) {
                onHandshake(ctx, frame);
            } else {
                onBatch(ctx, frame);
            }
        } finally {
            frame.release();
        }
    }

    private void onHandshake(ChannelHandlerContext ctx, ByteBuf frame) {
        Handshake h;
        try {
            h = Handshake.parseFrom(ByteBufUtil.getBytes(frame));
        } catch (InvalidProtocolBufferException e) {
            refuse(ctx, HandshakeRefusal.NOT_A_HANDSHAKE,
                    "the first frame (" + frame.readableBytes() + " bytes) is not a handshake: " + e.getMessage());
            return;
        }
        HandshakeRefusal refusal = FrameCodec.check(h, config, transport::isPeer);
        if (refusal != null) {
            refuse(ctx, refusal, "handshake " + FrameCodec.describe(h) + " does not match this node: "
                    + transport.describeSelf());
            return;
        }
        handshakeTimeout.cancel(false);
        senderNodeId = h.getSenderNodeId();
        stats.handshakesAccepted.incrementAndGet();
        transport.inboundAccepted(senderNodeId, ctx.channel());
        ctx.writeAndFlush(FrameCodec.encode(ctx.alloc(), transport.handshakeTo(senderNodeId)));
        PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": accepted node " + senderNodeId
                + " from " + ctx.channel().remoteAddress());
    }

    private void onBatch(ChannelHandlerContext ctx, ByteBuf frame) {
        int bodyBytes = frame.readableBytes();
        stats.bytesReceived.addAndGet(FrameCodec.LENGTH_FIELD_BYTES + bodyBytes);
        List<Message> messages;
        invalidInFrame = 0;
        firstInvalid = null;
        try {
            messages = MessageBatchCodec.decodeValidMessages(bodyOf(frame), config.maxFrameBytes(), onInvalid);
        } catch (MalformedMessageException e) {
            stats.malformedFrames.incrementAndGet();
            closeWith(ctx, "malformed " + bodyBytes + "-byte batch from node " + senderNodeId + ": " + e.getMessage());
            return;
        }
        stats.framesReceived.incrementAndGet();
        if (invalidInFrame > 0) {
            stats.invalidMessagesDropped.addAndGet(invalidInFrame);
            PeerTransport.LOG.log(Level.WARNING, "node " + config.nodeId() + ": dropped " + invalidInFrame
                    + " invalid message(s) of a " + bodyBytes + "-byte batch from node " + senderNodeId
                    + " and delivered the other " + messages.size() + " (first: " + firstInvalid
                    + "); that node sends messages this version cannot accept");
        }
        List<Message> valid = dropForged(messages);
        if (!valid.isEmpty()) {
            stats.messagesReceived.addAndGet(valid.size());
            transport.listener().onMessages(senderNodeId, valid);
        }
    }

    private void invalidMessages(int count, MalformedMessageException first) {
        invalidInFrame = count;
        firstInvalid = first.getMessage();
    }

    /**
     * The frame's bytes for the decoder, in place: the frame decoder hands over a slice of its
     * cumulation buffer, one contiguous (usually direct) region, so this is a view, not a copy.
     * Decoding copies out each entry payload, so the frame may be released right after.
     */
    static ByteBuffer bodyOf(ByteBuf frame) {
        return frame.nioBufferCount() == 1 ? frame.nioBuffer() : ByteBuffer.wrap(ByteBufUtil.getBytes(frame));
    }

    /** A peer speaks only for itself and only to this node; anything else is dropped and counted. */
    private List<Message> dropForged(List<Message> messages) {
        long self = config.nodeId();
        int forged = 0;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.from != senderNodeId || m.to != self) {
                forged++;
            }
        }
        if (forged == 0) {
            return messages;
        }
        List<Message> valid = new ArrayList<>(messages.size() - forged);
        Message firstForged = null;
        for (int i = 0; i < messages.size(); i++) {
            Message m = messages.get(i);
            if (m.from == senderNodeId && m.to == self) {
                valid.add(m);
            } else if (firstForged == null) {
                firstForged = m;
            }
        }
        stats.forgedMessagesDropped.addAndGet(forged);
        PeerTransport.LOG.log(Level.WARNING, "node " + self + ": dropped " + forged + " of " + messages.size()
                + " messages on the connection from node " + senderNodeId + " that name another sender or receiver"
                + " (first: group " + firstForged.groupId + " " + firstForged + "); check that node's configuration");
        return valid;
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
            PeerTransport.LOG.log(Level.DEBUG, () -> "node " + config.nodeId() + ": inbound connection from "
                    + ctx.channel().remoteAddress() + ": " + cause);
            ctx.close();
        } else {
            // Not the peer's fault: the listener or this code threw. Dropping the connection loses
            // only messages Raft resends; the error is logged in full for the bug report.
            closing = true;
            PeerTransport.LOG.log(Level.ERROR, "node " + config.nodeId() + ": failure handling the connection from "
                    + ctx.channel().remoteAddress() + "; closing it", cause);
            ctx.close();
        }
    }

    private void refuse(ChannelHandlerContext ctx, HandshakeRefusal reason, String detail) {
        stats.refused(reason);
        closeWith(ctx, "refused handshake (" + reason + "): " + detail);
    }

    private void closeWith(ChannelHandlerContext ctx, String reason) {
        closing = true;
        PeerTransport.LOG.log(Level.WARNING, "node " + config.nodeId() + ": closing inbound connection from "
                + ctx.channel().remoteAddress() + ": " + reason);
        ctx.close();
    }
}
