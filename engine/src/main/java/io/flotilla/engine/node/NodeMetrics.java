package io.flotilla.engine.node;

import com.sun.net.httpserver.HttpHandler;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.service.ServiceMetrics;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.SnapshotStreams;
import io.flotilla.router.MetaRange;
import io.flotilla.transport.snapshot.SnapshotObserver;
import io.flotilla.wal.Wal;
import io.flotilla.wal.WalObserver;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.exporter.httpserver.HTTPServer;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * One node's Prometheus metrics, in a registry of its own (tests run several nodes in one JVM):
 * the shared log (fsyncs, entries, group commit and fsync latency), the peer transport (flushes,
 * messages), snapshots (count, bytes, durations), splits, moves, ranges and leaderships, apply lag,
 * and the client service's request latency and errors ({@link ServiceMetrics}). Most are read from
 * the runtime's own counters when scraped, so they cost nothing between scrapes; the latencies are
 * observed by the log's writer thread and the snapshot threads through {@link WalObserver} and
 * {@link SnapshotObserver}. None has a per-range label, so a node with 4,096 ranges exports as few
 * series as one with 1. Served over HTTP at {@code /metrics}, next to the status page, when the
 * node is configured to ({@code --metrics-listen}). Any thread.
 */
final class NodeMetrics implements AutoCloseable {
    private static final double NANOS_PER_SECOND = 1e9;

    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ServiceMetrics service = new ServiceMetrics(registry);
    private final LongAdder splitsApplied = new LongAdder();
    private final Counter movesCompleted;
    private HTTPServer server;

    NodeMetrics(MultiRaftNode runtime, Wal wal, SnapshotStreams snapshots, KvStateMachine stateMachine,
            LongSupplier replicasJoined) {
        counter("flotilla_log_fsyncs_total", "fsyncs of the node's shared log (one per batch of every group's entries)",
                () -> wal.stats().forces());
        counter("flotilla_log_entries_total", "Raft entries made durable in the shared log", () -> wal.stats().entries());
        Histogram commitSeconds = secondsHistogram("flotilla_log_commit_seconds",
                "one group commit of the shared log: encoding, writes and the fsync of every group's entries of a round");
        Histogram fsyncSeconds = secondsHistogram("flotilla_log_fsync_seconds", "one fsync of the shared log");
        Histogram entriesPerFsync = Histogram.builder()
                .name("flotilla_log_entries_per_fsync")
                .help("Raft entries made durable by one fsync of the shared log (what group commit gathers)")
                .classicOnly()
                .classicExponentialUpperBounds(1, 2, 14)
                .register(registry);
        wal.observe((entries, commitNs, forceNs) -> {
            commitSeconds.observe(commitNs / NANOS_PER_SECOND);
            if (forceNs > 0) {
                fsyncSeconds.observe(forceNs / NANOS_PER_SECOND);
                entriesPerFsync.observe(entries);
            }
        });
        registerSnapshots(snapshots);
        counter("flotilla_peer_flushes_total", "message batches sent to other nodes (one frame and one flush each)",
                runtime::peerSends);
        counter("flotilla_peer_messages_total", "Raft messages sent to other nodes", runtime::peerMessagesSent);
        counter("flotilla_snapshots_sent_total", "snapshots this node's replicas sent", runtime::snapshotsSent);
        counter("flotilla_snapshots_installed_total", "snapshots this node's replicas installed", runtime::snapshotsInstalled);
        counter("flotilla_log_compactions_total", "log compactions of this node's replicas", runtime::compactions);
        counter("flotilla_splits_total", "range splits this node applied", splitsApplied::sum);
        movesCompleted = Counter.builder()
                .name("flotilla_replica_moves_total")
                .help("replica moves of ranges this node led that completed (counted once moves land)")
                .register(registry);
        counter("flotilla_replicas_joined_total", "replicas joined after this node missed the split that made their range",
                replicasJoined);
        gauge("flotilla_ranges", "ranges of user keys this node holds a replica of", () -> stateMachine.ranges().size());
        gauge("flotilla_leaders", "groups this node leads, the meta range included", runtime::leaderGroups);
        gauge("flotilla_meta_replica", "1 if this node holds a replica of the meta range",
                () -> stateMachine.descriptor(MetaRange.ID) != null ? 1 : 0);
        GaugeWithCallback.builder()
                .name("flotilla_apply_lag_entries")
                .help("committed entries not yet applied, over this node's replicas: the most behind one (max) and all (sum)")
                .labelNames("stat")
                .callback(cb -> {
                    long max = 0;
                    long sum = 0;
                    for (RangeDescriptor range : stateMachine.allRanges()) {
                        GroupView view = runtime.groupView(range.getRangeId());
                        if (view != null) {
                            long lag = Math.max(0, view.commitIndex() - view.appliedIndex());
                            max = Math.max(max, lag);
                            sum += lag;
                        }
                    }
                    cb.call(max, "max");
                    cb.call(sum, "sum");
                })
                .register(registry);
    }

    private void registerSnapshots(SnapshotStreams snapshots) {
        Histogram sendSeconds = secondsHistogram("flotilla_snapshot_send_seconds",
                "from queueing a snapshot for a follower to its image having reached it (waits and retries included)");
        Histogram installSeconds = secondsHistogram("flotilla_snapshot_install_seconds",
                "restoring a received snapshot image into the state machine");
        Counter sentBytes = Counter.builder().name("flotilla_snapshot_sent_bytes")
                .help("bytes of the snapshot images that reached followers").register(registry);
        Counter installedBytes = Counter.builder().name("flotilla_snapshot_installed_bytes")
                .help("bytes of the snapshot images this node installed").register(registry);
        snapshots.observe(new SnapshotObserver() {
            @Override
            public void sent(long bytes, long durationNs) {
                sentBytes.inc(bytes);
                sendSeconds.observe(durationNs / NANOS_PER_SECOND);
            }

            @Override
            public void installed(long bytes, long durationNs) {
                installedBytes.inc(bytes);
                installSeconds.observe(durationNs / NANOS_PER_SECOND);
            }
        });
    }

    /** A histogram of durations, 50 microseconds to about 14 minutes in doublings (fsyncs at the low end, snapshots at the high). */
    private Histogram secondsHistogram(String name, String help) {
        return Histogram.builder().name(name).help(help).classicOnly()
                .classicExponentialUpperBounds(0.00005, 2, 25).register(registry);
    }

    /** Counts a replica move completed (the move driver, on the meta range's leader; any thread). */
    void moveCompleted() {
        movesCompleted.inc();
    }

    ServiceMetrics service() {
        return service;
    }

    /** Counts a split this node applied (a split listener, on a worker). */
    void splitApplied() {
        splitsApplied.increment();
    }

    /** Splits this node applied since it started. */
    long splitsApplied() {
        return splitsApplied.sum();
    }

    /** Serves the metrics at {@code http://address/metrics} and {@code statusPage} at every other path; returns the port bound. */
    int serve(InetSocketAddress address, HttpHandler statusPage) throws IOException {
        server = HTTPServer.builder().hostname(address.getHostString()).port(address.getPort()).registry(registry)
                .defaultHandler(statusPage).buildAndStart();
        return server.getPort();
    }

    private void counter(String name, String help, LongSupplier value) {
        CounterWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsLong())).register(registry);
    }

    private void gauge(String name, String help, DoubleSupplier value) {
        GaugeWithCallback.builder().name(name).help(help).callback(cb -> cb.call(value.getAsDouble())).register(registry);
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
    }
}
