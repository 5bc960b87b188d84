package io.flotilla.client;

import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A test double of a node's client service: a Netty server on 127.0.0.1 (an ephemeral port) that
 * speaks kv.proto's framing and answers each request as its {@link Script} says: at once, later,
 * never, in another order, with a frame too big, or by closing the connection. Not the product.
 * Its one event-loop thread runs the script and owns the script's state; tests read the recorded
 * requests from any thread.
 */
final class ScriptedNodeServer implements AutoCloseable {
    /** How the node answers; runs on the server's event-loop thread. */
    @FunctionalInterface
    interface Script {
        void onRequest(Exchange exchange);
    }

    /** One request and the means to answer it, now or later (on the server's thread). */
    static final class Exchange {
        final Request request;
        final Channel channel;

        Exchange(Request request, Channel channel) {
            this.request = request;
            this.channel = channel;
        }

        void reply(Response.Builder response) {
            writeFrame(channel, response.setRequestId(request.getRequestId()).build().toByteArray());
        }

        void replyError(Error.Builder error) {
            reply(Response.newBuilder().setError(error));
        }

        /** A frame whose length field says {@code bodyBytes}, followed by that many bytes of zeros. */
        void replyOversized(int bodyBytes) {
            ByteBuf frame = channel.alloc().buffer(4 + bodyBytes);
            frame.writeInt(bodyBytes);
            frame.writeZero(bodyBytes);
            channel.writeAndFlush(frame);
        }

        void closeConnection() {
            channel.close();
        }
    }

    private final long nodeId;
    private final EventLoopGroup group;
    private final Channel serverChannel;
    private final ConcurrentLinkedQueue<Request> received = new ConcurrentLinkedQueue<>();
    private final AtomicInteger connectionsAccepted = new AtomicInteger();
    private volatile Script script;

    private ScriptedNodeServer(long nodeId, Script script) {
        this.nodeId = nodeId;
        this.script = script;
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("scripted-node-" + nodeId, true),
                NioIoHandler.newFactory());
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel channel) {
                        connectionsAccepted.incrementAndGet();
                        channel.pipeline().addLast(new LengthFieldBasedFrameDecoder(64 << 20, 0, 4, 0, 4), new RequestHandler());
                    }
                });
        this.serverChannel = bootstrap.bind("127.0.0.1", 0).syncUninterruptibly().channel();
    }

    static ScriptedNodeServer start(long nodeId, Script script) {
        return new ScriptedNodeServer(nodeId, script);
    }

    long nodeId() {
        return nodeId;
    }

    int port() {
        return ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    String seed() {
        return "127.0.0.1:" + port();
    }

    NodeAddress address() {
        return NodeAddress.newBuilder().setNodeId(nodeId).setHost("127.0.0.1").setClientPort(port()).build();
    }

    void script(Script script) {
        this.script = script;
    }

    /** Every request received so far, in arrival order. */
    List<Request> received() {
        return List.copyOf(received);
    }

    /** The received requests that are not route lookups. */
    List<Request> dataRequests() {
        return received.stream().filter(request -> !request.hasRouteLookup()).toList();
    }

    int connectionsAccepted() {
        return connectionsAccepted.get();
    }

    /** Runs {@code task} on the server's thread, where the script's state lives. */
    void execute(Runnable task) {
        group.execute(task);
    }

    @Override
    public void close() {
        if (group.isShuttingDown()) {
            return;
        }
        serverChannel.close().syncUninterruptibly();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    static void writeFrame(Channel channel, byte[] body) {
        ByteBuf frame = channel.alloc().buffer(4 + body.length);
        frame.writeInt(body.length);
        frame.writeBytes(body);
        channel.writeAndFlush(frame);
    }

    private final class RequestHandler extends SimpleChannelInboundHandler<ByteBuf> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, ByteBuf frame) {
            Request request;
            try {
                request = Request.parseFrom(frame.nioBuffer());
            } catch (IOException e) {
                throw new UncheckedIOException("the client sent a frame that does not parse", e);
            }
            received.add(request);
            script.onRequest(new Exchange(request, ctx.channel()));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
