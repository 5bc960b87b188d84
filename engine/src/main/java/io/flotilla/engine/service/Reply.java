package io.flotilla.engine.service;

import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The one answer owed to one client request. Whichever comes first wins — the runtime's answer (on
 * a worker thread), a validation error (on the event loop) or the request's deadline (a timer on the
 * connection's event loop) — and every later attempt is ignored. Any thread.
 */
final class Reply {
    private final long requestId;
    private final ResponseWriter out;
    private final ServiceMetrics metrics;
    private final Request.BodyCase kind;
    private final long arrivedNs = System.nanoTime();
    private final AtomicBoolean answered = new AtomicBoolean();
    private volatile ScheduledFuture<?> deadline;

    Reply(long requestId, Request.BodyCase kind, ResponseWriter out, ServiceMetrics metrics) {
        this.requestId = requestId;
        this.kind = kind;
        this.out = out;
        this.metrics = metrics;
    }

    long requestId() {
        return requestId;
    }

    /** The event loop of the request's connection. */
    io.netty.channel.EventLoop eventLoop() {
        return out.eventLoop();
    }

    boolean answered() {
        return answered.get();
    }

    /** Answers with {@code response} (its request id is set here) unless already answered. */
    boolean send(Response.Builder response) {
        if (!answered.compareAndSet(false, true)) {
            return false;
        }
        ScheduledFuture<?> d = deadline;
        if (d != null) {
            d.cancel(false);
        }
        Response built = response.setRequestId(requestId).build();
        metrics.answered(kind, built, arrivedNs);
        out.send(built);
        return true;
    }

    boolean fail(Error error) {
        return send(Response.newBuilder().setError(error));
    }

    /** Answers with {@code onDeadline} after {@code afterMs} unless answered before. */
    void armDeadline(long afterMs, Supplier<Error> onDeadline) {
        if (!answered()) {
            deadline = out.eventLoop().schedule(() -> {
                if (!answered()) {
                    fail(onDeadline.get());
                }
            }, afterMs, TimeUnit.MILLISECONDS);
        }
    }
}
