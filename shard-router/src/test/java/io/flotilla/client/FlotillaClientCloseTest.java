package io.flotilla.client;

import static io.flotilla.client.TestRanges.bytes;
import static io.flotilla.client.TestRanges.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Closing a client: calls in flight and after end typed, and no thread outlives it. */
class FlotillaClientCloseTest {
    private static Set<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).collect(Collectors.toSet());
    }

    @Test
    void closeLeavesNoThreadBehindAndFailsCallsInFlightAndAfter() throws Exception {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        try (ScriptedNodeServer server = ScriptedNodeServer.start(1, exchange -> {
            if (!exchange.request.hasGet()) {
                kv.onRequest(exchange); // gets are never answered
            }
        })) {
            kv.nodes(List.of(server.address()));
            Set<Thread> before = liveThreads();

            for (int round = 0; round < 3; round++) {
                FlotillaClient client = FlotillaClient.builder().seeds(server.seed()).clusterId(1).build();
                client.sync().put("k", "v");
                CompletableFuture<byte[]> inFlight = client.get(bytes("k"));

                client.close();

                assertThatThrownBy(() -> inFlight.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                        .cause().isInstanceOf(ClientClosedException.class).hasMessageContaining("closed");
                assertThatThrownBy(() -> client.sync().put("k", "w")).isInstanceOf(ClientClosedException.class);
                client.close(); // idempotent
            }

            TestRanges.awaitCondition("the clients' threads to end", Duration.ofSeconds(5), () -> {
                Set<Thread> extra = liveThreads();
                extra.removeAll(before);
                return extra.isEmpty();
            });
        }
    }

    @Test
    void aBlockingCallInsideACallbackIsRefusedInsteadOfHanging() throws Exception {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        try (ScriptedNodeServer server = ScriptedNodeServer.start(1, kv);
                FlotillaClient client = FlotillaClient.builder().seeds(server.seed()).clusterId(1).build()) {
            kv.nodes(List.of(server.address()));

            client.put("k", "v").join();
            // Run the blocking call on the client's I/O thread, where a callback runs. (A callback chained
            // with thenApply runs on the caller's thread instead when the future is already complete,
            // which made this test pass or fail by timing.)
            CompletableFuture<String> nested = client.onIoThread(dispatcher -> client.sync().get("k"));

            assertThatThrownBy(() -> nested.get(5, TimeUnit.SECONDS)).cause()
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("callbackExecutor");
        }
    }
}
