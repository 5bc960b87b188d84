package io.flotilla.client;

import static io.flotilla.client.TestRanges.bytes;
import static io.flotilla.client.TestRanges.range;
import static io.flotilla.client.TestRanges.text;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.kv.proto.ClusterMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.Request;
import io.flotilla.kv.proto.SessionExpired;
import io.flotilla.kv.proto.TooLarge;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The client's calls and their results and typed errors, against one scripted node. */
class FlotillaClientTest {
    private static final long CLUSTER = 77;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private ScriptedNodeServer node(InMemoryKv kv) {
        ScriptedNodeServer server = ScriptedNodeServer.start(1, kv);
        kv.nodes(List.of(server.address()));
        toClose.add(server);
        return server;
    }

    private FlotillaClient client(ScriptedNodeServer server, FlotillaClient.Builder settings) {
        FlotillaClient client = settings.seeds(server.seed()).clusterId(CLUSTER).build();
        toClose.add(client);
        return client;
    }

    private FlotillaClient client(ScriptedNodeServer server) {
        return client(server, FlotillaClient.builder());
    }

    @Test
    void putGetDeleteCompareAndSetBatchAndScanRoundTrip() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "m", 1, 1), range(2, "m", "", 1, 1)));
        BlockingFlotillaClient client = client(node(kv)).sync();

        client.put("apple", "red");
        assertThat(client.get("apple")).isEqualTo("red");
        assertThat(client.get(bytes("absent"))).isNull();

        CasResult failed = client.compareAndSet(bytes("apple"), bytes("green"), bytes("yellow"));
        assertThat(failed.succeeded()).isFalse();
        assertThat(text(failed.currentValue())).isEqualTo("red");
        CasResult absentFailed = client.compareAndSet(bytes("apple"), null, bytes("x"));
        assertThat(absentFailed.succeeded()).isFalse();
        CasResult created = client.compareAndSet(bytes("banana"), null, bytes("yellow"));
        assertThat(created.succeeded()).isTrue();
        assertThat(text(created.currentValue())).isEqualTo("yellow");
        assertThat(client.compareAndDelete(bytes("banana"), bytes("yellow")).succeeded()).isTrue();
        assertThat(client.get("banana")).isNull();

        BatchResult applied = client.batch(new WriteBatch().expectValue(bytes("apple"), bytes("red"))
                .put(bytes("cherry"), bytes("dark")).delete(bytes("apple")));
        assertThat(applied.succeeded()).isTrue();
        assertThat(client.get("apple")).isNull();
        BatchResult refused = client.batch(new WriteBatch().expectAbsent(bytes("cherry")).put(bytes("date"), bytes("brown")));
        assertThat(refused.succeeded()).isFalse();
        assertThat(refused.failedCondition()).isZero();
        assertThat(text(refused.currentValue())).isEqualTo("dark");
        assertThat(client.get("date")).isNull();

        assertThat(client.delete("cherry")).isTrue();
        assertThat(client.delete("cherry")).isFalse();

        for (String key : List.of("a1", "a2", "a3", "k", "n1")) {
            client.put(key, "v-" + key);
        }
        ScanResult page = client.scan(bytes("a"), null, 2);
        assertThat(page.entries()).extracting(entry -> text(entry.key())).containsExactly("a1", "a2");
        assertThat(text(page.continuation())).isEqualTo("a3");
        ScanResult rest = client.scan(page.continuation(), null, 0);
        assertThat(rest.entries()).extracting(entry -> text(entry.key())).containsExactly("a3", "k");
        assertThat(text(rest.continuation())).as("the scan goes on in the next range").isEqualTo("m");
        ScanResult last = client.scan(rest.continuation(), null, 0);
        assertThat(last.entries()).extracting(entry -> text(entry.value())).containsExactly("v-n1");
        assertThat(last.hasMore()).isFalse();
        ScanResult bounded = client.scan(bytes("a"), bytes("a3"), 0);
        assertThat(bounded.entries()).hasSize(2);
        assertThat(bounded.hasMore()).isFalse();
    }

    @Test
    void requestsCarryTheClusterRangeEpochAndForWritesTheSession() {
        InMemoryKv kv = new InMemoryKv(List.of(range(5, "", "", 3, 1)));
        ScriptedNodeServer server = node(kv);
        FlotillaClient client = client(server);

        client.sync().put("k", "v");
        client.sync().put("k", "w");
        client.sync().get(bytes("k"), ReadConsistency.FOLLOWER);

        List<Request> requests = server.dataRequests();
        assertThat(requests).hasSize(3);
        for (Request request : requests) {
            assertThat(request.getHeader().getClusterId()).isEqualTo(CLUSTER);
            assertThat(request.getHeader().getRangeId()).isEqualTo(5);
            assertThat(request.getHeader().getRangeEpoch()).isEqualTo(3);
            assertThat(request.getHeader().getTimeoutMs()).isPositive();
        }
        assertThat(requests.get(0).getHeader().getClientId()).isEqualTo(client.clientId());
        assertThat(requests.get(0).getHeader().getSequence()).isEqualTo(1);
        assertThat(requests.get(1).getHeader().getSequence()).isEqualTo(2);
        assertThat(requests.get(1).getHeader().getFirstUnackedSequence()).isEqualTo(2);
        assertThat(requests.get(2).getHeader().getSequence()).as("reads carry no session").isZero();
        assertThat(requests.get(2).getHeader().getConsistency()).isEqualTo(io.flotilla.kv.proto.ReadConsistency.FOLLOWER);
    }

    @Test
    void firstUnackedIsTheLowestSequenceWhoseResponseHasNotArrived() throws Exception {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        List<ScriptedNodeServer.Exchange> held = new ArrayList<>();
        ScriptedNodeServer server = node(kv);
        server.script(exchange -> {
            if (exchange.request.hasPut()) {
                held.add(exchange);
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(server);

        List<CompletableFuture<Void>> puts = new ArrayList<>();
        for (int i = 1; i <= 3; i++) {
            puts.add(client.put("k" + i, "v"));
            int sent = i;
            TestRanges.awaitCondition(sent + " puts at the node", Duration.ofSeconds(5), () -> server.dataRequests().size() == sent);
        }
        assertThat(server.dataRequests()).extracting(request -> request.getHeader().getFirstUnackedSequence()).containsExactly(1L, 1L, 1L);
        CompletableFuture<Void> answered = new CompletableFuture<>();
        server.execute(() -> {
            ScriptedNodeServer.Exchange second = held.get(1);
            second.reply(kv.answer(second.request));
            answered.complete(null);
        });
        answered.get(5, TimeUnit.SECONDS);
        puts.get(1).get(5, TimeUnit.SECONDS);

        puts.add(client.put("k4", "v"));
        TestRanges.awaitCondition("the fourth put", Duration.ofSeconds(5), () -> server.dataRequests().size() == 4);
        Request fourth = server.dataRequests().get(3);
        assertThat(fourth.getHeader().getSequence()).isEqualTo(4);
        assertThat(fourth.getHeader().getFirstUnackedSequence()).as("sequence 1 is still unanswered").isEqualTo(1);
        server.execute(() -> {
            for (ScriptedNodeServer.Exchange exchange : held) {
                exchange.reply(kv.answer(exchange.request));
            }
        });
        CompletableFuture.allOf(puts.toArray(CompletableFuture[]::new)).get(5, TimeUnit.SECONDS);
    }

    @Test
    void tooLargeIsTypedAndSaysWhichLimit() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        server.script(exchange -> {
            if (exchange.request.hasPut()) {
                exchange.replyError(Error.newBuilder().setTooLarge(TooLarge.newBuilder().setLimit("value").setSize(9_000_000).setMax(8_388_608)));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(server);

        assertThatThrownBy(() -> client.sync().put("k", "v"))
                .isInstanceOfSatisfying(TooLargeException.class, e -> {
                    assertThat(e.limit()).isEqualTo("value");
                    assertThat(e.size()).isEqualTo(9_000_000);
                    assertThat(e.max()).isEqualTo(8_388_608);
                })
                .hasMessageContaining("put \"k\"").hasMessageContaining("over the limit of 8388608").hasMessageContaining("Nothing was applied");
        assertThat(server.dataRequests()).as("not retried").hasSize(1);
    }

    @Test
    void aRequestOverTheFrameLimitIsRefusedBeforeItIsSent() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        FlotillaClient client = client(server, FlotillaClient.builder().maxFrameBytes(4096));

        assertThatThrownBy(() -> client.sync().put(bytes("k"), new byte[8192]))
                .isInstanceOfSatisfying(TooLargeException.class, e -> assertThat(e.limit()).isEqualTo("frame"))
                .hasMessageContaining("maxFrameBytes");
        assertThat(server.dataRequests()).isEmpty();
    }

    @Test
    void sessionExpiredIsTypedAndNotRetried() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        server.script(exchange -> {
            if (exchange.request.hasPut()) {
                exchange.replyError(Error.newBuilder().setSessionExpired(SessionExpired.getDefaultInstance()));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(server);

        assertThatThrownBy(() -> client.sync().put("k", "v")).isInstanceOf(SessionExpiredException.class)
                .hasMessageContaining("may or may not have been applied");
        assertThat(server.dataRequests()).hasSize(1);
    }

    @Test
    void aNodeOfAnotherClusterIsRefusedWithBothIds() {
        ScriptedNodeServer server = node(new InMemoryKv(List.of()));
        server.script(exchange -> exchange.replyError(Error.newBuilder()
                .setClusterMismatch(ClusterMismatch.newBuilder().setNodeClusterId(12))));
        FlotillaClient client = client(server);

        assertThatThrownBy(() -> client.sync().get("k"))
                .isInstanceOfSatisfying(ClusterMismatchException.class, e -> assertThat(e.nodeClusterId()).isEqualTo(12))
                .hasMessageContaining("cluster 12").hasMessageContaining("cluster 77").hasMessageContaining("clusterId");
    }

    @Test
    void aSilentNodeEndsAWriteWithDeadlineExceededAndAnUnknownOutcome() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        server.script(exchange -> {
            if (!exchange.request.hasPut()) {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(server, FlotillaClient.builder()
                .requestTimeout(Duration.ofMillis(400)).attemptTimeout(Duration.ofMillis(100)));

        long startNs = System.nanoTime();
        assertThatThrownBy(() -> client.sync().put("k", "v"))
                .isInstanceOfSatisfying(DeadlineExceededException.class, e -> assertThat(e.writeOutcomeUnknown()).isTrue())
                .hasMessageContaining("400 ms").hasMessageContaining("did not answer").hasMessageContaining("read the key");
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);
        assertThat(elapsedMs).isBetween(300L, 3_000L);
        assertThat(server.dataRequests()).as("retried after each attempt timeout").hasSizeGreaterThan(1)
                .extracting(request -> request.getHeader().getSequence()).containsOnly(1L);
    }

    @Test
    void noReachableSeedEndsWithUnavailableOnceTheBudgetIsSpent() {
        ScriptedNodeServer server = node(new InMemoryKv(List.of()));
        String deadSeed = server.seed();
        server.close();
        FlotillaClient client = FlotillaClient.builder().seeds(deadSeed).clusterId(CLUSTER).retryBudget(3)
                .requestTimeout(Duration.ofSeconds(10)).build();
        toClose.add(client);

        assertThatThrownBy(() -> client.sync().get("k"))
                .isInstanceOf(UnavailableException.class)
                .hasMessageContaining("3 attempts").hasMessageContaining(deadSeed).hasMessageContaining("retryBudget");
    }

    @Test
    void callsBeyondMaxInFlightAreRefusedAtOnce() throws Exception {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        List<ScriptedNodeServer.Exchange> held = new ArrayList<>();
        ScriptedNodeServer server = node(kv);
        server.script(exchange -> {
            if (exchange.request.hasGet() && !exchange.request.getGet().getKey().toStringUtf8().equals("c")) {
                held.add(exchange);
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(server, FlotillaClient.builder().maxInFlight(2));

        CompletableFuture<byte[]> first = client.get(bytes("a"));
        CompletableFuture<byte[]> second = client.get(bytes("b"));
        assertThatThrownBy(() -> client.sync().get("c")).isInstanceOf(ClientOverloadedException.class).hasMessageContaining("maxInFlight");

        TestRanges.awaitCondition("two held gets", Duration.ofSeconds(5), () -> server.dataRequests().size() == 2);
        server.execute(() -> held.forEach(exchange -> exchange.reply(kv.answer(exchange.request))));
        first.get(5, TimeUnit.SECONDS);
        second.get(5, TimeUnit.SECONDS);
        assertThat(client.sync().get("c")).as("permits come back when calls end").isNull();
    }

    @Test
    void aBatchAcrossRangesIsRefusedWithoutSendingIt() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "m", 1, 1), range(2, "m", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        FlotillaClient client = client(server);

        assertThatThrownBy(() -> client.sync().batch(new WriteBatch().put(bytes("a"), bytes("1")).put(bytes("z"), bytes("2"))))
                .isInstanceOf(KeysSpanRangesException.class).hasMessageContaining("\"z\"").hasMessageContaining("range 1");
        assertThat(server.dataRequests()).isEmpty();
    }

    @Test
    void futuresCompleteOnTheCallbackExecutorWhereBlockingCallsAreAllowed() throws Exception {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(kv);
        java.util.concurrent.ExecutorService callbacks = java.util.concurrent.Executors.newFixedThreadPool(2,
                runnable -> new Thread(runnable, "test-callbacks"));
        toClose.add(callbacks::shutdownNow);
        FlotillaClient client = client(server, FlotillaClient.builder().callbackExecutor(callbacks));

        String thread = client.put("k", "v").thenApply(ignored -> Thread.currentThread().getName()).get(5, TimeUnit.SECONDS);
        String nested = client.put("k", "w").thenApply(ignored -> client.sync().get("k")).get(5, TimeUnit.SECONDS);

        assertThat(thread).isEqualTo("test-callbacks");
        assertThat(nested).isEqualTo("w");
    }

    @Test
    void theBuilderRefusesMissingSettings() {
        assertThatThrownBy(() -> FlotillaClient.builder().seeds("127.0.0.1:1").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("clusterId");
        assertThatThrownBy(() -> FlotillaClient.builder().clusterId(1).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("seed");
        assertThatThrownBy(() -> FlotillaClient.builder().seeds("nohost"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("host:port");
    }
}
