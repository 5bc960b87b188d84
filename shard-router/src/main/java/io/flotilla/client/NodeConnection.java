package io.flotilla.client;

import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.EventLoop;
import io.netty.util.collection.LongObjectHashMap;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The client's one connection to one node, carrying many requests at once: each request gets an id
 * unique on this connection, and its response, whenever and in whatever order it comes, goes to
 * the listener registered under that id. It connects on the first request and again on the first
 * request after it failed or closed; requests sent while it connects wait and go out once it is up.
 * Writes made in one round of the I/O thread go out with one flush. A response whose id is not
 * waited for (its attempt timed out, or the node is confused) is dropped and counted.
 *
 * <p>Owned by the client's I/O thread (the channel's event loop): every method runs there.
 *
 * <p>Invariant: every request in {@link #waitingForConnect} has its listener in {@link #inFlight}.
 */
final class NodeConnection {
    private static final System.Logger LOG = System.getLogger(NodeConnection.class.getName());

    private final HostPort address;
    private final EventLoop loop;
    private final Bootstrap bootstrap;
    private final LongObjectHashMap<ResponseListener> inFlight = new LongObjectHashMap<>();
    private final ArrayDeque<Request> waitingForConnect = new ArrayDeque<>();
    /** The connected channel, or null while not connected. */
    private Channel channel;
    private boolean connecting;
    private boolean closed;
    private boolean flushScheduled;
    /** Why the current channel is being closed, told to the listeners it fails; null if nobody said. */
    private String closeReason;
    private long nextRequestId = 1;
    private long unknownResponses;

    /** {@code bootstrap} is configured except for its handler, which this connection sets. */
    NodeConnection(HostPort address, EventLoop loop, Bootstrap bootstrap, int maxFrameBytes) {
        this.address = address;
        this.loop = loop;
        this.bootstrap = bootstrap.handler(new ClientChannelInitializer(this, maxFrameBytes));
    }

    HostPort address() {
        return address;
    }

    /** An id for the next request on this connection. */
    long nextRequestId() {
        return nextRequestId++;
    }

    /** Sends {@code request} (whose id came from {@link #nextRequestId}); {@code listener} gets its outcome. */
    void send(Request request, ResponseListener listener) {
        if (closed) {
            listener.onConnectionLost("the client is closed");
            return;
        }
        inFlight.put(request.getRequestId(), listener);
        if (channel != null) {
            channel.write(request, channel.voidPromise());
            scheduleFlush();
        } else {
            waitingForConnect.add(request);
            connect();
        }
    }

    /** Stops waiting for the response to request {@code requestId}; if it still comes, it is dropped. */
    void forget(long requestId) {
        inFlight.remove(requestId);
        waitingForConnect.removeIf(request -> request.getRequestId() == requestId);
    }

    /** Requests sent and not yet answered, lost or forgotten. */
    int inFlightCount() {
        return inFlight.size();
    }

    /** Responses that arrived for no request this connection was waiting for. */
    long unknownResponses() {
        return unknownResponses;
    }

    void onResponse(Response response) {
        ResponseListener listener = inFlight.remove(response.getRequestId());
        if (listener == null) {
            unknownResponses++;
            return;
        }
        listener.onResponse(response);
    }

    /** Closes {@code from} (if it is still this connection's channel), telling its waiting requests why. */
    void closeBecause(Channel from, String reason) {
        if (from == channel && closeReason == null) {
            closeReason = reason;
            LOG.log(System.Logger.Level.WARNING, "closing the connection to {0}: {1}", address, reason);
        }
        from.close();
    }

    void onChannelClosed(Channel from) {
        if (from != channel) {
            return;
        }
        String reason = closeReason != null ? closeReason : "the node closed the connection";
        channel = null;
        closeReason = null;
        failAll("connection to " + address + " lost: " + reason);
    }

    /** Closes the channel and fails every waiting request; later sends fail at once. */
    void close() {
        closed = true;
        if (channel != null) {
            closeReason = "the client is closing";
            channel.close();
        }
        failAll("the client is closed");
    }

    private void connect() {
        if (connecting) {
            return;
        }
        connecting = true;
        ChannelFuture connected = bootstrap.connect(address.host(), address.port());
        connected.addListener(future -> onConnectDone(connected));
    }

    private void onConnectDone(ChannelFuture connected) {
        connecting = false;
        if (closed) {
            connected.channel().close();
            return;
        }
        if (!connected.isSuccess()) {
            waitingForConnect.clear();
            failAll("could not connect to " + address + ": " + connected.cause());
            return;
        }
        channel = connected.channel();
        while (!waitingForConnect.isEmpty()) {
            channel.write(waitingForConnect.poll(), channel.voidPromise());
        }
        channel.flush();
    }

    private void scheduleFlush() {
        if (flushScheduled) {
            return;
        }
        flushScheduled = true;
        loop.execute(() -> {
            flushScheduled = false;
            if (channel != null) {
                channel.flush();
            }
        });
    }

    private void failAll(String reason) {
        if (inFlight.isEmpty()) {
            return;
        }
        // Copied first: a listener may send again on this connection.
        List<ResponseListener> lost = new ArrayList<>(inFlight.values());
        inFlight.clear();
        waitingForConnect.clear();
        for (ResponseListener listener : lost) {
            listener.onConnectionLost(reason);
        }
    }
}
