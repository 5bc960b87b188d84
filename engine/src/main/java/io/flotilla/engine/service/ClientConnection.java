package io.flotilla.engine.service;

import io.flotilla.kv.proto.Request;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import java.io.IOException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection, after its frame decoder: hands each request to the service with the
 * connection's {@link ResponseWriter}, and stops reading while the connection's outbound buffer is
 * above its high-water mark (a client that does not read its responses stops being read, instead of
 * growing the node's memory). Owned by the connection's event loop.
 */
final class ClientConnection extends ChannelInboundHandlerAdapter {
    private static final Logger LOG = LoggerFactory.getLogger(ClientConnection.class);

    private final RequestHandler handler;
    private ResponseWriter out;

    ClientConnection(RequestHandler handler) {
        this.handler = handler;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) throws Exception {
        out = new ResponseWriter(ctx.channel());
        super.channelActive(ctx);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        handler.handle((Request) msg, out);
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) throws Exception {
        ctx.channel().config().setAutoRead(ctx.channel().isWritable());
        super.channelWritabilityChanged(ctx);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.debug("client {}: {}; closing the connection", ctx.channel().remoteAddress(), cause.toString());
        } else {
            LOG.warn("client {}: closing the connection after an error", ctx.channel().remoteAddress(), cause);
        }
        ctx.close();
    }
}
