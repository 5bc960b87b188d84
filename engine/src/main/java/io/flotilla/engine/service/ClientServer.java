package io.flotilla.engine.service;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * The node's client-facing listener: a Netty server whose connections each run a
 * {@link ClientFrameDecoder} (framing, frame limit, parse) and a {@link ClientConnection} (hand-off to
 * the {@link RequestHandler}). Its event-loop threads ({@code flotilla-client-<node>}) own every
 * connection; {@link #stopAccepting} and {@link #close} may be called from any thread.
 */
public final class ClientServer implements AutoCloseable {
    private static final int SHUTDOWN_TIMEOUT_MS = 2_000;
    /** Outbound bytes queued on a connection above which it stops being read (see ClientConnection). */
    private static final int HIGH_WATER_MARK_BYTES = 64 << 20;
    private static final int LOW_WATER_MARK_BYTES = 32 << 20;

    private final EventLoopGroup group;
    private final ChannelGroup connections = new DefaultChannelGroup("flotilla-clients", GlobalEventExecutor.INSTANCE);
    private final Channel serverChannel;

    private ClientServer(long nodeId, InetSocketAddress listen, int ioThreads, int maxFrameBytes, RequestHandler handler)
            throws IOException {
        this.group = new MultiThreadIoEventLoopGroup(ioThreads, new DefaultThreadFactory("flotilla-client-" + nodeId, true),
                NioIoHandler.newFactory());
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK,
                        new WriteBufferWaterMark(LOW_WATER_MARK_BYTES, HIGH_WATER_MARK_BYTES))
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(new ClientFrameDecoder(maxFrameBytes), new ClientConnection(handler));
                    }
                });
        ChannelFuture bind = server.bind(listen).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS).awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
            throw new IOException("node " + nodeId + " cannot listen for clients on " + listen + ": "
                    + bind.cause().getMessage() + " (is another process using the port?)", bind.cause());
        }
        this.serverChannel = bind.channel();
    }

    /**
     * Binds {@code listen} and serves every connection with {@code handler}.
     *
     * @throws IOException if the address cannot be bound
     */
    public static ClientServer start(long nodeId, InetSocketAddress listen, int ioThreads, int maxFrameBytes,
            RequestHandler handler) throws IOException {
        return new ClientServer(nodeId, listen, ioThreads, maxFrameBytes, handler);
    }

    /** The address clients dial: the configured one, with the actual port if it was 0. */
    public InetSocketAddress localAddress() {
        return (InetSocketAddress) serverChannel.localAddress();
    }

    /** Open client connections. */
    public int connections() {
        return connections.size();
    }

    /** Accepts no new connections; open ones keep being served. */
    public void stopAccepting() {
        serverChannel.close().awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
    }

    /** Closes every connection (responses already written are flushed first) and stops the event loops. */
    @Override
    public void close() {
        stopAccepting();
        connections.close().awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
        group.shutdownGracefully(0, SHUTDOWN_TIMEOUT_MS, TimeUnit.MILLISECONDS).awaitUninterruptibly(SHUTDOWN_TIMEOUT_MS);
    }
}
