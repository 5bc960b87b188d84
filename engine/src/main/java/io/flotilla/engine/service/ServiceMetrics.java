package io.flotilla.engine.service;

import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.Response;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the client service counts of the requests it answers: every answer, its latency from the
 * request's arrival by kind (write, read, admin), and refusals by error kind. The label values are
 * fixed sets, so the metrics' cardinality does not grow with ranges or clients. Any thread.
 */
public final class ServiceMetrics {
    private final LongAdder answered = new LongAdder();
    private final Histogram latency;
    private final Counter errors;

    /** Registers its metrics in {@code registry}. */
    public ServiceMetrics(PrometheusRegistry registry) {
        this.latency = Histogram.builder()
                .name("flotilla_request_seconds")
                .help("Time from a client request's arrival to its answer, by kind (write, read, admin)")
                .labelNames("kind")
                .classicOnly()
                .classicExponentialUpperBounds(0.0005, 2, 16)
                .register(registry);
        this.errors = Counter.builder()
                .name("flotilla_request_errors_total")
                .help("Requests answered with an error, by the error's kind (NOT_LEADER, BUSY, EPOCH_MISMATCH, ...)")
                .labelNames("error")
                .register(registry);
        // Busy rejections (back-pressure) are the refusal an operator watches: the series exists from the start.
        errors.initLabelValues(io.flotilla.kv.proto.Error.KindCase.BUSY.name());
    }

    /** A request of kind {@code body} that arrived at {@code arrivedNs} was answered {@code response}. */
    void answered(Request.BodyCase body, Response response, long arrivedNs) {
        answered.increment();
        latency.labelValues(kind(body)).observe((System.nanoTime() - arrivedNs) / (double) TimeUnit.SECONDS.toNanos(1));
        if (response.hasError()) {
            errors.labelValues(response.getError().getKindCase().name()).inc();
        }
    }

    /** Requests answered since the node started. */
    long answered() {
        return answered.sum();
    }

    private static String kind(Request.BodyCase body) {
        return switch (body) {
            case PUT, DELETE, COMPARE_AND_SET, BATCH_WRITE -> "write";
            case GET, SCAN -> "read";
            default -> "admin";
        };
    }
}
