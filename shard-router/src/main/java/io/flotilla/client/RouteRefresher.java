package io.flotilla.client;

import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.RouteLookupRequest;
import io.flotilla.kv.proto.RouteLookupResponse;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Asks a node for the range descriptors and node addresses it knows (RouteLookup) and teaches them
 * to the {@link RangeLocator}. Calls that need a route while a lookup is out wait for that one
 * instead of sending their own; each lookup asks the next seed or learned node in turn, so one dead
 * or stale node does not stall routing. Owned by the client's I/O thread.
 */
final class RouteRefresher {
    private final RangeLocator locator;
    private final ConnectionPool pool;
    private final EventLoop loop;
    private final long clusterId;
    private final long timeoutNs;
    /** Told null when the lookup in flight succeeded, else what went wrong. */
    private final List<Consumer<FlotillaException>> waiters = new ArrayList<>();
    /** Identifies the lookup in flight, so a late answer to an abandoned one is ignored; 0 when none is. */
    private long lookupInFlight;
    private long lookupCount;
    private ScheduledFuture<?> timer;

    RouteRefresher(RangeLocator locator, ConnectionPool pool, EventLoop loop, ClientConfig config) {
        this.locator = locator;
        this.pool = pool;
        this.loop = loop;
        this.clusterId = config.clusterId();
        this.timeoutNs = config.attemptTimeout().toNanos();
    }

    /** Looks the routes up (or joins the lookup in flight); {@code done} is told the outcome. */
    void refresh(Consumer<FlotillaException> done) {
        waiters.add(done);
        if (lookupInFlight != 0) {
            return;
        }
        long lookup = ++lookupCount;
        lookupInFlight = lookup;
        HostPort source = locator.nextRouteSource();
        NodeConnection connection = pool.connection(source);
        long requestId = connection.nextRequestId();
        Request request = Request.newBuilder()
                .setRequestId(requestId)
                .setHeader(RequestHeader.newBuilder().setClusterId(clusterId).setTimeoutMs((int) TimeUnit.NANOSECONDS.toMillis(timeoutNs)))
                .setRouteLookup(RouteLookupRequest.getDefaultInstance())
                .build();
        timer = loop.schedule(() -> {
            connection.forget(requestId);
            finish(lookup, new FlotillaException("route lookup: " + source + " did not answer within "
                    + TimeUnit.NANOSECONDS.toMillis(timeoutNs) + " ms"));
        }, timeoutNs, TimeUnit.NANOSECONDS);
        connection.send(request, new ResponseListener() {
            @Override
            public void onResponse(Response response) {
                finish(lookup, adopt(source, response));
            }

            @Override
            public void onConnectionLost(String reason) {
                finish(lookup, new FlotillaException("route lookup at " + source + ": " + reason));
            }
        });
    }

    /** Fails every waiting call's lookup: the client is closing. */
    void close() {
        if (lookupInFlight != 0) {
            finish(lookupInFlight, new ClientClosedException("the client was closed during a route lookup"));
        }
    }

    /** Teaches the locator what the answer holds; returns null, or the problem with the answer. */
    private FlotillaException adopt(HostPort source, Response response) {
        if (response.hasRouteLookup()) {
            RouteLookupResponse routes = response.getRouteLookup();
            locator.learnNodes(routes.getNodesList());
            if (routes.hasMetaRange()) {
                locator.learnMetaRange(routes.getMetaRange());
            }
            locator.adopt(routes.getRangesList());
            return null;
        }
        if (response.hasError()) {
            Error error = response.getError();
            if (error.hasClusterMismatch()) {
                return ErrorTranslator.clusterMismatch(source.toString(), clusterId, error);
            }
            return new FlotillaException("route lookup at " + source + " refused: " + error.getKindCase() + " " + error.getMessage());
        }
        return new FlotillaException("route lookup at " + source + " answered " + response.getBodyCase() + " instead of route_lookup");
    }

    private void finish(long lookup, FlotillaException problem) {
        if (lookup != lookupInFlight) {
            return;
        }
        lookupInFlight = 0;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        List<Consumer<FlotillaException>> told = new ArrayList<>(waiters);
        waiters.clear();
        for (Consumer<FlotillaException> waiter : told) {
            waiter.accept(problem);
        }
    }
}
