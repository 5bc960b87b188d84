package io.flotilla.transport;

import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.MessageLite;
import io.flotilla.raft.Message;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.wire.MessageBatchCodec;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.function.Supplier;

/**
 * The frame format of a peer connection: a 4-byte big-endian unsigned length N, then N bytes of
 * protobuf ({@code Handshake} first, then {@code MessageBatch}es, which {@link MessageBatchCodec}
 * writes and reads without protobuf objects). Stateless helpers; the decoder is one per channel,
 * owned by that channel's event loop.
 */
public final class FrameCodec {
    static final int LENGTH_FIELD_BYTES = LengthPrefixedFrameDecoder.LENGTH_FIELD_BYTES;

    private FrameCodec() {
    }

    /**
     * A client bootstrap for a framed connection (peer transport and snapshot channel alike): no
     * Nagle delay, keep-alive, a connect timeout, a channel that turns unwritable above
     * {@code highWaterMarkBytes} of queued output, and frames of at most {@code maxFrameBytes}
     * decoded for a new {@code handler} per connection.
     */
    public static Bootstrap clientBootstrap(EventLoop loop, int connectTimeoutMs, int highWaterMarkBytes, int maxFrameBytes,
            Supplier<ChannelHandler> handler) {
        return new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, connectTimeoutMs)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, new WriteBufferWaterMark(highWaterMarkBytes / 2, highWaterMarkBytes))
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new LengthPrefixedFrameDecoder(maxFrameBytes), handler.get());
                    }
                });
    }

    /** Encodes {@code message} as one frame, in place in a buffer from {@code alloc} (also used by the snapshot channel). */
    public static ByteBuf encode(ByteBufAllocator alloc, MessageLite message) {
        int bodyBytes = message.getSerializedSize();
        ByteBuf frame = alloc.buffer(LENGTH_FIELD_BYTES + bodyBytes, LENGTH_FIELD_BYTES + bodyBytes);
        try {
            frame.writeInt(bodyBytes);
            CodedOutputStream out = CodedOutputStream.newInstance(frame.nioBuffer(LENGTH_FIELD_BYTES, bodyBytes));
            message.writeTo(out);
            out.flush();
            out.checkNoSpaceLeft();
            frame.writerIndex(LENGTH_FIELD_BYTES + bodyBytes);
            return frame;
        } catch (IOException e) {
            frame.release();
            // Writing into a buffer of exactly the serialized size cannot run out of space.
            throw new UncheckedIOException("encoding a " + bodyBytes + "-byte frame body into an exact buffer failed", e);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /**
     * Encodes {@code messages[from, to)} as one {@code MessageBatch} frame straight from the core's
     * messages (no protobuf objects): one buffer of exactly {@code 4 + bodyBytes} from {@code alloc},
     * written once. Messages whose {@link MessageBatchCodec#fieldBytes} is over
     * {@code maxMessageFieldBytes} are left out (the sender dropped them); {@code bodyBytes} must be
     * the sum of the others' field bytes, which the sender computed while splitting the batch.
     *
     * @throws IllegalStateException if {@code bodyBytes} is not what the messages encode to
     */
    public static ByteBuf encodeBatch(ByteBufAllocator alloc, List<Message> messages, int from, int to, int bodyBytes,
            int maxMessageFieldBytes) {
        ByteBuf frame = alloc.buffer(LENGTH_FIELD_BYTES + bodyBytes, LENGTH_FIELD_BYTES + bodyBytes);
        try {
            frame.writeInt(bodyBytes);
            CodedOutputStream out = CodedOutputStream.newInstance(frame.nioBuffer(LENGTH_FIELD_BYTES, bodyBytes));
            MessageBatchCodec.writeBatch(out, messages, from, to, maxMessageFieldBytes);
            out.flush();
            out.checkNoSpaceLeft();
            frame.writerIndex(LENGTH_FIELD_BYTES + bodyBytes);
            return frame;
        } catch (IOException e) {
            frame.release();
            // Out of space: the messages encode to more than bodyBytes, or changed since they were sized.
            throw new IllegalStateException("messages " + from + ".." + to + " do not fit the " + bodyBytes
                    + "-byte frame body they were sized for (changed after send?)", e);
        } catch (RuntimeException e) {
            frame.release();
            throw e;
        }
    }

    /**
     * Checks a handshake against what this end expects, in the order that gives the most useful
     * reason: a different protocol version may mean every other field is read wrongly.
     *
     * @return null if it passes, else the first field that does not match
     */
    static HandshakeRefusal check(Handshake h, TransportConfig config, LongPredicate senderAllowed) {
        return HandshakeRefusal.check(h, config.clusterId(), config.nodeId(), config.protocolVersion(), senderAllowed);
    }

    static String describe(Handshake h) {
        return "cluster " + Long.toUnsignedString(h.getClusterId())
                + ", node " + Long.toUnsignedString(h.getSenderNodeId())
                + " -> node " + Long.toUnsignedString(h.getReceiverNodeId())
                + ", protocol version " + Integer.toUnsignedString(h.getProtocolVersion());
    }

    /**
     * The peer's fault among connection errors: an oversized or undecodable frame, counted in
     * {@code stats}. Returns the reason to log and close with, or null for any other error (the
     * network's, or ours).
     */
    static String peerFault(Throwable cause, TransportStats stats, int maxFrameBytes) {
        if (cause instanceof io.netty.handler.codec.TooLongFrameException) {
            stats.oversizedFrames.incrementAndGet();
            return "frame over the limit of " + maxFrameBytes + " bytes: " + cause.getMessage();
        }
        if (cause instanceof io.netty.handler.codec.DecoderException) {
            stats.malformedFrames.incrementAndGet();
            return "undecodable frame: " + cause.getMessage();
        }
        return null;
    }
}
