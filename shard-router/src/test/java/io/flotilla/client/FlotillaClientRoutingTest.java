package io.flotilla.client;

import static io.flotilla.client.TestRanges.bytes;
import static io.flotilla.client.TestRanges.range;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.kv.proto.Busy;
import io.flotilla.kv.proto.EpochMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.KeyNotInRange;
import io.flotilla.kv.proto.NotLeader;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeNotFound;
import io.flotilla.kv.proto.Request;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How the client finds a key's range and leader, and what it does with each refusal. */
class FlotillaClientRoutingTest {
    private static final long CLUSTER = 3;

    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private ScriptedNodeServer node(long nodeId, ScriptedNodeServer.Script script) {
        ScriptedNodeServer server = ScriptedNodeServer.start(nodeId, script);
        toClose.add(server);
        return server;
    }

    private FlotillaClient client(FlotillaClient.Builder settings, ScriptedNodeServer... seeds) {
        for (ScriptedNodeServer seed : seeds) {
            settings.seeds(seed.seed());
        }
        FlotillaClient client = settings.clusterId(CLUSTER).build();
        toClose.add(client);
        return client;
    }

    @Test
    void followsALeaderHintToANodeItLearnsFromTheHint() {
        InMemoryKv leaderKv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer leader = node(2, leaderKv);
        InMemoryKv followerKv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer follower = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                followerKv.onRequest(exchange);
            } else {
                exchange.replyError(Error.newBuilder().setNotLeader(NotLeader.newBuilder().setLeaderNodeId(2).setLeader(leader.address())));
            }
        });
        followerKv.nodes(List.of(follower.address()));
        FlotillaClient client = client(FlotillaClient.builder(), follower);

        client.sync().put("k", "v");
        client.sync().put("k2", "v2");
        assertThat(client.sync().get("k")).isEqualTo("v");

        assertThat(follower.dataRequests()).as("only the first call went to the follower").hasSize(1);
        List<Request> atLeader = leader.dataRequests();
        assertThat(atLeader).hasSize(3);
        assertThat(atLeader.get(0).getHeader().getSequence()).as("the redirected write keeps its sequence")
                .isEqualTo(follower.dataRequests().get(0).getHeader().getSequence());
        assertThat(leaderKv.applies()).isEqualTo(2);
    }

    @Test
    void aLeaderHintWithoutAnAddressUsesTheAddressFromTheRouteLookup() {
        InMemoryKv leaderKv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer leader = node(2, leaderKv);
        InMemoryKv followerKv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer follower = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                followerKv.onRequest(exchange);
            } else {
                exchange.replyError(Error.newBuilder().setNotLeader(NotLeader.newBuilder().setLeaderNodeId(2)));
            }
        });
        followerKv.nodes(List.of(follower.address(), leader.address()));
        FlotillaClient client = client(FlotillaClient.builder(), follower);

        client.sync().put("k", "v");

        assertThat(follower.dataRequests()).hasSize(1);
        assertThat(leader.dataRequests()).hasSize(1);
    }

    @Test
    void anEpochMismatchTeachesTheSplitAndTheRetryGoesToTheNewRange() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "m", 2, 1), range(2, "m", "", 2, 1)));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        server.script(exchange -> {
            if (exchange.request.hasRouteLookup()) {
                // A stale answer: the range before its split.
                exchange.reply(io.flotilla.kv.proto.Response.newBuilder().setRouteLookup(io.flotilla.kv.proto.RouteLookupResponse.newBuilder()
                        .addRanges(range(1, "", "", 1, 1)).addNodes(server.address())));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(FlotillaClient.builder(), server);

        client.sync().put("x", "1");
        client.sync().put("y", "2");

        List<Request> requests = server.dataRequests();
        assertThat(requests).extracting(r -> r.getHeader().getRangeId() + "@" + r.getHeader().getRangeEpoch())
                .containsExactly("1@1", "2@2", "2@2");
        assertThat(requests.get(1).getHeader().getSequence()).as("a new range, a sequence of its own").isEqualTo(1);
        assertThat(server.received().stream().filter(Request::hasRouteLookup).count()).as("no second lookup").isEqualTo(1);
        assertThat(kv.applies()).isEqualTo(2);
    }

    @Test
    void afterASplitTheWaitForTheNewRangesLeaderStartsShortAgain() {
        // The call waits out six "no leader" answers (its waits grow to 160-320 ms), then learns of a
        // split and goes on to the new range, which has no leader yet either. Its next wait starts
        // again at 5-10 ms: grown by every attempt before the split it would be 640-1,280 ms, which a
        // loaded split showed as a second-long stall after both sides could serve.
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "m", 2, 1), range(2, "m", "", 2, 1)));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        List<Long> sentAtNs = java.util.Collections.synchronizedList(new ArrayList<>());
        server.script(exchange -> {
            if (exchange.request.hasRouteLookup()) {
                exchange.reply(io.flotilla.kv.proto.Response.newBuilder().setRouteLookup(io.flotilla.kv.proto.RouteLookupResponse.newBuilder()
                        .addRanges(range(1, "", "", 1, 1)).addNodes(server.address())));
                return;
            }
            sentAtNs.add(System.nanoTime());
            int n = sentAtNs.size();
            if (n <= 6 || n == 8) {
                exchange.replyError(Error.newBuilder().setNotLeader(NotLeader.getDefaultInstance()));
            } else if (n == 7) {
                exchange.replyError(Error.newBuilder().setEpochMismatch(EpochMismatch.newBuilder()
                        .addRanges(range(1, "", "m", 2, 1)).addRanges(range(2, "m", "", 2, 1))));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(FlotillaClient.builder().requestTimeout(Duration.ofSeconds(20))
                .retryPolicy(new RetryPolicy(20, Duration.ofMillis(10), Duration.ofSeconds(10))), server);

        client.sync().put("x", "1");

        List<Long> at = List.copyOf(sentAtNs);
        assertThat(at).hasSize(9);
        long beforeSplitMs = TimeUnit.NANOSECONDS.toMillis(at.get(6) - at.get(5));
        long afterSplitMs = TimeUnit.NANOSECONDS.toMillis(at.get(8) - at.get(7));
        assertThat(beforeSplitMs).as("the sixth wait, grown by the waits before it").isGreaterThanOrEqualTo(160);
        assertThat(afterSplitMs).as("the first wait for the new range's leader").isLessThan(500);
    }

    @Test
    void aReplicaThatHasNotAppliedTheSplitYetSendsTheCallToAnotherWithoutALookup() {
        // Range 2 was split off range 1; node 1 has not applied the split (it still holds "x" in
        // range 1 at epoch 1), node 2 has. The client must keep range 2 and try node 2.
        List<RangeDescriptor> split = List.of(range(1, "", "m", 2, 1, 2), range(2, "m", "", 2, 1, 2));
        InMemoryKv applied = new InMemoryKv(split);
        ScriptedNodeServer two = node(2, applied);
        ScriptedNodeServer one = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                applied.onRequest(exchange);
            } else {
                exchange.replyError(Error.newBuilder().setRangeNotFound(RangeNotFound.newBuilder()
                        .addRanges(range(1, "", "", 1, 1, 2))));
            }
        });
        applied.nodes(List.of(one.address(), two.address()));
        // Each client picks the first replica to try at random: sixteen of them try node 1 first about
        // eight times, and each such call would cost a second lookup if the refusal made it forget range 2.
        int clients = 16;
        for (int c = 0; c < clients; c++) {
            FlotillaClient client = client(FlotillaClient.builder().retryPolicy(new RetryPolicy(20, Duration.ofMillis(5),
                    Duration.ofMillis(50))), one);
            client.sync().put("x" + c, "v");
            assertThat(client.onIoThread(d -> d.locator().route(com.google.protobuf.ByteString.copyFromUtf8("x")).getRangeId())
                    .join()).as("range 2 stays cached").isEqualTo(2);
        }

        long lookups = one.received().stream().filter(Request::hasRouteLookup).count()
                + two.received().stream().filter(Request::hasRouteLookup).count();
        assertThat(lookups).as("one lookup per client, at its start").isEqualTo(clients);
        assertThat(two.dataRequests()).hasSize(clients);
        assertThat(one.dataRequests()).as("some client tried node 1 first").isNotEmpty();
    }

    @Test
    void aStaleNodesOlderDescriptorsDoNotMakeTheClientLoopOrForget() {
        RangeDescriptor current = range(1, "", "", 5, 1);
        AtomicInteger refusals = new AtomicInteger();
        InMemoryKv kv = new InMemoryKv(List.of(current));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        server.script(exchange -> {
            if (exchange.request.hasRouteLookup()) {
                kv.onRequest(exchange);
            } else {
                refusals.incrementAndGet();
                exchange.replyError(Error.newBuilder().setEpochMismatch(EpochMismatch.newBuilder().addRanges(range(1, "", "", 4, 1))));
            }
        });
        FlotillaClient client = client(FlotillaClient.builder().retryBudget(6).requestTimeout(Duration.ofSeconds(10))
                .retryPolicy(new RetryPolicy(6, Duration.ofMillis(20), Duration.ofMillis(200))), server);

        long startNs = System.nanoTime();
        assertThatThrownBy(() -> client.sync().get("k")).isInstanceOf(UnavailableException.class)
                .hasMessageContaining("not newer than the client's");
        assertThat(refusals.get()).as("bounded by the retry budget, minus the lookup").isEqualTo(5);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs)).as("it backed off between them").isGreaterThanOrEqualTo(40);
        assertThat(client.onIoThread(d -> d.locator().route(com.google.protobuf.ByteString.copyFromUtf8("k")).getEpoch()).join())
                .as("the older descriptor never replaced the newer").isEqualTo(5);
    }

    @Test
    void keyNotInRangeAdoptsTheNodesDescriptorAndLooksUpTheRest() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "m", 2, 1), range(2, "m", "", 2, 1)));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        AtomicInteger lookups = new AtomicInteger();
        server.script(exchange -> {
            Request request = exchange.request;
            if (request.hasRouteLookup() && lookups.getAndIncrement() == 0) {
                exchange.reply(io.flotilla.kv.proto.Response.newBuilder().setRouteLookup(io.flotilla.kv.proto.RouteLookupResponse.newBuilder()
                        .addRanges(range(1, "", "", 1, 1)).addNodes(server.address())));
            } else if (request.getHeader().getRangeId() == 1 && request.getHeader().getRangeEpoch() == 1) {
                exchange.replyError(Error.newBuilder().setKeyNotInRange(KeyNotInRange.newBuilder().setRange(range(1, "", "m", 2, 1))));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(FlotillaClient.builder(), server);

        client.sync().put("x", "1");

        assertThat(server.dataRequests()).extracting(r -> r.getHeader().getRangeId() + "@" + r.getHeader().getRangeEpoch())
                .containsExactly("1@1", "2@2");
        assertThat(lookups.get()).as("the hole [m, end) was looked up").isEqualTo(2);
    }

    @Test
    void rangeNotFoundForgetsTheRangeAndLooksItUpAgain() {
        InMemoryKv kv = new InMemoryKv(List.of(range(9, "", "", 1, 2)));
        ScriptedNodeServer newHome = node(2, kv);
        AtomicInteger lookups = new AtomicInteger();
        InMemoryKv oldKv = new InMemoryKv(List.of(range(4, "", "", 1, 1)));
        ScriptedNodeServer oldHome = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                if (lookups.getAndIncrement() == 0) {
                    oldKv.onRequest(exchange);
                } else {
                    kv.onRequest(exchange);
                }
            } else {
                exchange.replyError(Error.newBuilder().setRangeNotFound(RangeNotFound.getDefaultInstance()));
            }
        });
        oldKv.nodes(List.of(oldHome.address()));
        kv.nodes(List.of(newHome.address()));
        // Range 4 merged into range 9 (a newer epoch is not needed: range 4's descriptor is evicted).
        kv.ranges(List.of(range(9, "", "", 2, 2)));
        FlotillaClient client = client(FlotillaClient.builder(), oldHome);

        client.sync().put("k", "v");

        assertThat(oldHome.dataRequests()).hasSize(1);
        assertThat(newHome.dataRequests()).extracting(r -> r.getHeader().getRangeId()).containsExactly(9L);
    }

    @Test
    void busyIsRetriedAfterItsWaitWithTheSameSession() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        AtomicInteger puts = new AtomicInteger();
        server.script(exchange -> {
            if (exchange.request.hasPut() && puts.incrementAndGet() <= 2) {
                exchange.replyError(Error.newBuilder().setBusy(Busy.newBuilder().setRetryAfterMs(60)));
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(FlotillaClient.builder(), server);

        long startNs = System.nanoTime();
        client.sync().put("k", "v");
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNs);

        List<Request> sent = server.dataRequests();
        assertThat(sent).hasSize(3);
        assertThat(sent).extracting(r -> r.getHeader().getClientId() + "/" + r.getHeader().getSequence()).containsOnly(client.clientId() + "/1");
        assertThat(elapsedMs).as("waited retry_after twice").isGreaterThanOrEqualTo(120);
        assertThat(kv.applies()).isEqualTo(1);
    }

    @Test
    void aDroppedResponseIsRetriedWithTheSameSessionAndAppliedOnce() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1)));
        ScriptedNodeServer server = node(1, kv);
        kv.nodes(List.of(server.address()));
        AtomicInteger puts = new AtomicInteger();
        server.script(exchange -> {
            if (exchange.request.hasPut() && puts.incrementAndGet() == 1) {
                kv.answer(exchange.request); // applied, but the response is lost
            } else {
                kv.onRequest(exchange);
            }
        });
        FlotillaClient client = client(FlotillaClient.builder().attemptTimeout(Duration.ofMillis(150)), server);

        client.sync().put("k", "v");

        List<Request> sent = server.dataRequests();
        assertThat(sent).hasSize(2);
        assertThat(sent.get(1).getHeader().getClientId()).isEqualTo(sent.get(0).getHeader().getClientId());
        assertThat(sent.get(1).getHeader().getSequence()).isEqualTo(sent.get(0).getHeader().getSequence());
        assertThat(sent.get(1).getRequestId()).as("a new request id").isNotEqualTo(sent.get(0).getRequestId());
        assertThat(kv.applies()).isEqualTo(1);
        assertThat(client.sync().get("k")).isEqualTo("v");
    }

    @Test
    void aLeaderWithoutHintSendsTheCallToAnotherReplica() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1, 2)));
        ScriptedNodeServer leader = node(2, kv);
        ScriptedNodeServer candidate = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                kv.onRequest(exchange);
            } else {
                exchange.replyError(Error.newBuilder().setNotLeader(NotLeader.getDefaultInstance()));
            }
        });
        kv.nodes(List.of(candidate.address(), leader.address()));
        FlotillaClient client = client(FlotillaClient.builder(), candidate);

        for (int i = 0; i < 5; i++) {
            client.sync().put("k" + i, "v");
        }

        assertThat(candidate.dataRequests().size()).as("at most the first call tried the replica without a leader").isLessThanOrEqualTo(1);
        assertThat(leader.dataRequests()).hasSize(5);
    }

    /**
     * The range's leader, node 3, has just died: for 400 ms (until node 2 wins the election) the
     * followers still name it as leader. Before: every hint sent the call straight back to node 3,
     * which reset the backoff, so a call with ten attempts spent them in about 60-250 ms and failed
     * with Unavailable before the election (move-check's client errors). Now a hint naming a node
     * this call could not reach is no news: the call waits its growing backoff and gets through.
     */
    @Test
    void aHintNamingALeaderTheCallCouldNotReachDoesNotSpendItsRetriesBeforeTheElection() {
        InMemoryKv kv = new InMemoryKv(List.of(range(1, "", "", 1, 1, 2, 3)));
        ScriptedNodeServer dead = node(3, kv);
        NotLeader deadLeader = NotLeader.newBuilder().setLeaderNodeId(3).setLeader(dead.address()).build();
        dead.close();
        long electedAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(400);
        ScriptedNodeServer[] nodes = new ScriptedNodeServer[3];
        nodes[1] = node(2, exchange -> {
            if (exchange.request.hasRouteLookup() || System.nanoTime() - electedAt >= 0) {
                kv.onRequest(exchange);
            } else {
                exchange.replyError(Error.newBuilder().setNotLeader(deadLeader));
            }
        });
        nodes[0] = node(1, exchange -> {
            if (exchange.request.hasRouteLookup()) {
                kv.onRequest(exchange);
            } else if (System.nanoTime() - electedAt >= 0) {
                exchange.replyError(Error.newBuilder().setNotLeader(
                        NotLeader.newBuilder().setLeaderNodeId(2).setLeader(nodes[1].address())));
            } else {
                exchange.replyError(Error.newBuilder().setNotLeader(deadLeader));
            }
        });
        kv.nodes(List.of(nodes[0].address(), nodes[1].address(), dead.address()));
        FlotillaClient client = client(FlotillaClient.builder().requestTimeout(Duration.ofSeconds(5)).retryBudget(10),
                nodes[0]);

        client.sync().put("k", "v");

        assertThat(kv.applies()).isEqualTo(1);
    }
}
