package io.flotilla.client;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.util.HashMap;
import java.util.Map;

/**
 * The client's connections, one per node address, made on first use. Every connection's channel is
 * registered on the client's one I/O thread, which owns this pool.
 */
final class ConnectionPool {
    private final EventLoop loop;
    private final Bootstrap template;
    private final int maxFrameBytes;
    private final Map<HostPort, NodeConnection> connections = new HashMap<>();

    ConnectionPool(EventLoop loop, ClientConfig config) {
        this.loop = loop;
        this.maxFrameBytes = config.maxFrameBytes();
        this.template = new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.SO_KEEPALIVE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, config.connectTimeout().toMillis()));
    }

    NodeConnection connection(HostPort address) {
        return connections.computeIfAbsent(address, a -> new NodeConnection(a, loop, template.clone(), maxFrameBytes));
    }

    /** Unanswered requests over all connections. */
    int inFlightCount() {
        int count = 0;
        for (NodeConnection connection : connections.values()) {
            count += connection.inFlightCount();
        }
        return count;
    }

    /** Responses that arrived on any connection for no request waiting for them. */
    long unknownResponses() {
        long count = 0;
        for (NodeConnection connection : connections.values()) {
            count += connection.unknownResponses();
        }
        return count;
    }

    void closeAll() {
        for (NodeConnection connection : connections.values()) {
            connection.close();
        }
    }
}
