package io.flotilla.client;

import static io.flotilla.client.TestRanges.bytes;
import static io.flotilla.client.TestRanges.range;
import static io.flotilla.client.TestRanges.text;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.Response;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** One pipelined connection per node: ordering, framing, and what a broken connection does to calls on it. */
class FlotillaClientConnectionTest {
    private static final long CLUSTER = 1;

    private final List<AutoCloseable> toClose = new ArrayList<>();
    private final InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
    private ScriptedNodeServer server;

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private ScriptedNodeServer node(ScriptedNodeServer.Script script) {
        server = ScriptedNodeServer.start(1, script);
        kv.nodes(List.of(server.address()));
        toClose.add(server);
        return server;
    }

    private FlotillaClient client(FlotillaClient.Builder settings) {
        FlotillaClient client = settings.seeds(server.seed()).clusterId(CLUSTER).build();
        toClose.add(client);
        return client;
    }

    @Test
    void manyCallsShareOneConnectionAndTheirAnswersMayComeInAnyOrder() throws Exception {
        int calls = 20;
        List<ScriptedNodeServer.Exchange> held = new ArrayList<>();
        node(exchange -> {
            if (!exchange.request.hasGet()) {
                kv.onRequest(exchange);
                return;
            }
            held.add(exchange);
            if (held.size() == calls) {
                // Only reachable if all of them were in flight at once; answer newest first.
                for (int i = held.size() - 1; i >= 0; i--) {
                    ScriptedNodeServer.Exchange waiting = held.get(i);
                    String key = waiting.request.getGet().getKey().toStringUtf8();
                    waiting.reply(Response.newBuilder().setGet(GetResponse.newBuilder().setFound(true)
                            .setValue(com.google.protobuf.ByteString.copyFromUtf8("value of " + key))));
                }
            }
        });
        FlotillaClient client = client(FlotillaClient.builder().attemptTimeout(Duration.ofSeconds(5)));
        client.sync().put("warm", "up"); // the routes are known before the burst

        List<CompletableFuture<byte[]>> gets = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            gets.add(client.get(bytes("key-" + i)));
        }

        for (int i = 0; i < calls; i++) {
            assertThat(text(gets.get(i).get(5, TimeUnit.SECONDS))).isEqualTo("value of key-" + i);
        }
        assertThat(server.connectionsAccepted()).isEqualTo(1);
    }

    @Test
    void manyThreadsWritingThroughLostResponsesApplyEachWriteOnce() throws Exception {
        AtomicInteger puts = new AtomicInteger();
        node(exchange -> {
            if (exchange.request.hasPut() && puts.incrementAndGet() % 20 == 0) {
                kv.answer(exchange.request); // applied; every 20th response is lost
                return;
            }
            kv.onRequest(exchange);
        });
        FlotillaClient client = client(FlotillaClient.builder().attemptTimeout(Duration.ofMillis(100)));
        int threads = 8;
        int putsPerThread = 250;

        List<Thread> writers = new ArrayList<>();
        java.util.concurrent.ConcurrentLinkedQueue<Throwable> failures = new java.util.concurrent.ConcurrentLinkedQueue<>();
        for (int t = 0; t < threads; t++) {
            int writer = t;
            Thread thread = new Thread(() -> {
                try {
                    for (int i = 0; i < putsPerThread; i++) {
                        client.sync().put("w" + writer + "-" + i, "v" + i);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "writer-" + t);
            thread.start();
            writers.add(thread);
        }
        for (Thread writer : writers) {
            writer.join(TimeUnit.SECONDS.toMillis(30));
            assertThat(writer.isAlive()).as(writer.getName() + " finished").isFalse();
        }

        assertThat(failures).isEmpty();
        assertThat(kv.applies()).as("each write applied once").isEqualTo(threads * putsPerThread);
        assertThat(puts.get()).as("the lost responses were retried").isGreaterThan(threads * putsPerThread);
        assertThat(client.sync().get("w7-249")).isEqualTo("v249");
    }

    @Test
    void aResponseForNoWaitingRequestIsIgnored() throws Exception {
        node(exchange -> {
            if (exchange.request.hasGet()) {
                exchange.channel.eventLoop().execute(() -> ScriptedNodeServer.writeFrame(exchange.channel,
                        Response.newBuilder().setRequestId(987_654).setGet(GetResponse.newBuilder().setFound(true)
                                .setValue(com.google.protobuf.ByteString.copyFromUtf8("not yours"))).build().toByteArray()));
            }
            kv.onRequest(exchange);
        });
        FlotillaClient client = client(FlotillaClient.builder());
        client.sync().put("k", "mine");

        assertThat(client.sync().get("k")).isEqualTo("mine");
        TestRanges.awaitCondition("the stray response to arrive", Duration.ofSeconds(5),
                () -> client.onIoThread(d -> d.pool().unknownResponses()).join() == 1);
        assertThat(client.sync().get("k")).as("the connection still works").isEqualTo("mine");
        assertThat(server.connectionsAccepted()).isEqualTo(1);
    }

    @Test
    void anOversizedResponseFrameClosesTheConnectionAndItsCallsAreRetriedOnANewOne() throws Exception {
        AtomicInteger gets = new AtomicInteger();
        List<ScriptedNodeServer.Exchange> parked = new ArrayList<>();
        node(exchange -> {
            if (exchange.request.hasPut() && parked.isEmpty() && kv.applies() == 0) {
                parked.add(exchange); // in flight on the same connection when it breaks
                kv.answer(exchange.request);
                return;
            }
            if (exchange.request.hasGet() && gets.incrementAndGet() == 1) {
                exchange.replyOversized(64 * 1024);
                return;
            }
            kv.onRequest(exchange);
        });
        FlotillaClient client = client(FlotillaClient.builder().maxFrameBytes(16 * 1024).attemptTimeout(Duration.ofSeconds(3)));

        CompletableFuture<Void> put = client.put("k", "v");
        TestRanges.awaitCondition("the put to reach the node", Duration.ofSeconds(5), () -> kv.applies() == 1);
        CompletableFuture<byte[]> get = client.get(bytes("k"));

        assertThat(text(get.get(5, TimeUnit.SECONDS))).isEqualTo("v");
        put.get(5, TimeUnit.SECONDS);
        assertThat(server.connectionsAccepted()).isEqualTo(2);
        assertThat(kv.applies()).as("the put in flight was retried with its sequence, not applied again").isEqualTo(1);
    }

    @Test
    void aConnectionClosedMidFlightIsReopenedAndTheWriteRetriedWithItsSequence() {
        AtomicInteger puts = new AtomicInteger();
        node(exchange -> {
            if (exchange.request.hasPut() && puts.incrementAndGet() == 1) {
                kv.answer(exchange.request);
                exchange.closeConnection();
                return;
            }
            kv.onRequest(exchange);
        });
        FlotillaClient client = client(FlotillaClient.builder());

        client.sync().put("k", "v");

        List<io.flotilla.kv.proto.Request> sent = server.dataRequests();
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).getHeader().getSequence()).isEqualTo(sent.get(0).getHeader().getSequence());
        assertThat(kv.applies()).isEqualTo(1);
        assertThat(server.connectionsAccepted()).isEqualTo(2);
    }

    @Test
    void nodeStatusAsksThatNodeAloneAndFailsWhenItIsSilent() {
        AtomicInteger asked = new AtomicInteger();
        node(exchange -> {
            if (exchange.request.hasNodeStatus()) {
                if (asked.incrementAndGet() == 1) {
                    exchange.reply(Response.newBuilder().setNodeStatus(
                            io.flotilla.kv.proto.NodeStatusResponse.newBuilder().setNodeId(7).setRanges(3).setLeaders(2)));
                }
                return; // the second call is never answered
            }
            kv.onRequest(exchange);
        });
        FlotillaClient client = client(FlotillaClient.builder().requestTimeout(Duration.ofMillis(300)));

        assertThat(client.nodeStatus(server.seed()).join().getLeaders()).isEqualTo(2);
        CompletableFuture<?> silent = client.nodeStatus(server.seed());
        assertThat(silent).failsWithin(Duration.ofSeconds(5))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(DeadlineExceededException.class);
    }
}
