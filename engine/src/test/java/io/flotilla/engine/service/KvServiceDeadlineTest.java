package io.flotilla.engine.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.KvLimits;
import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.engine.kv.SessionConfig;
import io.flotilla.engine.node.TestKvClient;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.RequestHeader;
import io.flotilla.multiraft.MultiRaftConfig;
import io.flotilla.multiraft.MultiRaftNode;
import io.flotilla.multiraft.TransportPeerSender;
import io.flotilla.router.KeySpace;
import io.flotilla.wal.Wal;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service's own deadline, against a runtime whose workers never run (so it never answers a
 * proposal or a read): every request is still answered, at its deadline, by the service.
 */
class KvServiceDeadlineTest {
    private static final long CLUSTER = 3;
    /** Scheduling room on a loaded shared machine; the lower bound is what shows the deadline was kept. */
    private static final long SLACK_MS = 1_000;

    @TempDir
    Path dir;

    private Wal wal;
    private MultiRaftNode runtime;
    private KvService service;
    private ClientServer server;
    private RangeDescriptor range;

    @BeforeEach
    void start() throws Exception {
        wal = Wal.open(dir.resolve("wal"), CLUSTER, 1);
        KvStateMachine machine = new KvStateMachine(new io.flotilla.engine.kv.MemoryKvStore(), KvLimits.defaults(), SessionConfig.defaults());
        range = KeySpace.tile(1, 1, 1).get(0);
        machine.bootstrap(java.util.List.of(range));
        MultiRaftConfig d = MultiRaftConfig.defaults(1);
        runtime = new MultiRaftNode(new MultiRaftConfig(1, 1, 10, 10, 1, d.inboxCapacity(), d.maxGroupsPerWorker(),
                d.logRetainEntries()), wal, machine, new TransportPeerSender());
        // Never started: its workers take commands into their inboxes and never answer them.
        service = new KvService(1, CLUSTER, 300, runtime, wal, machine, KvLimits.defaults(), new ClusterDirectory(Map.of()),
                System::currentTimeMillis, () -> {
                    throw new AssertionError("this test splits no range");
                }, new io.flotilla.engine.service.RangeLoad(), new ServiceMetrics(new io.prometheus.metrics.model.registry.PrometheusRegistry()), MoveSources.NONE,
                new KnownMetaRange(io.flotilla.router.MetaRange.initialDescriptor(new long[] {1})));
        server = ClientServer.start(1, new InetSocketAddress("127.0.0.1", 0), 1, 32 << 20, service);
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        runtime.close();
        wal.close();
    }

    private RequestHeader.Builder header(int timeoutMs) {
        return RequestHeader.newBuilder().setClusterId(CLUSTER).setRangeId(range.getRangeId())
                .setRangeEpoch(range.getEpoch()).setTimeoutMs(timeoutMs).setClientId(1).setSequence(1);
    }

    private static long millisSince(long startNs) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
    }

    @Test
    void aWriteTheRuntimeNeverAnswersGetsTimeoutAtItsDeadline() throws Exception {
        try (TestKvClient client = new TestKvClient(server.localAddress())) {
            long startNs = System.nanoTime();
            Error e = client.call(Request.newBuilder().setHeader(header(200))
                    .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")))).getError();
            long ms = millisSince(startNs);
            assertThat(e.hasTimeout()).as(e.toString()).isTrue();
            assertThat(e.getMessage()).contains("within 200 ms", "outcome is unknown", "same client id and sequence");
            assertThat(ms).isBetween(180L, 200 + SLACK_MS);
        }
    }

    @Test
    void aReadTheRuntimeNeverAnswersGetsUnavailableAtTheDefaultDeadline() throws Exception {
        try (TestKvClient client = new TestKvClient(server.localAddress())) {
            long startNs = System.nanoTime();
            Error e = client.call(Request.newBuilder().setHeader(header(0))
                    .setGet(GetRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")))).getError();
            long ms = millisSince(startNs);
            assertThat(e.hasUnavailable()).as(e.toString()).isTrue();
            assertThat(e.getMessage()).contains("within 300 ms");
            assertThat(ms).isBetween(250L, 300 + SLACK_MS);
        }
    }

    @Test
    void aStoppingServiceAnswersUnavailableAtOnce() throws Exception {
        service.stopServing();
        try (TestKvClient client = new TestKvClient(server.localAddress())) {
            Error e = client.call(Request.newBuilder().setHeader(header(10_000))
                    .setPut(PutRequest.newBuilder().setKey(ByteString.copyFromUtf8("k")))).getError();
            assertThat(e.hasUnavailable()).isTrue();
            assertThat(e.getMessage()).contains("shutting down");
        }
    }
}
