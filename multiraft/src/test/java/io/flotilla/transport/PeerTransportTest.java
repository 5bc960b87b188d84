package io.flotilla.transport;

import static io.flotilla.transport.TransportTestSupport.CLUSTER;
import static io.flotilla.transport.TransportTestSupport.append;
import static io.flotilla.transport.TransportTestSupport.config;
import static io.flotilla.transport.TransportTestSupport.connectAll;
import static io.flotilla.transport.TransportTestSupport.deadAddress;
import static io.flotilla.transport.TransportTestSupport.key;
import static io.flotilla.transport.TransportTestSupport.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import io.flotilla.transport.TransportTestSupport.RecordingListener;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Well-behaved peers over real loopback sockets: delivery, batching, refusals, restart, partitions. */
class PeerTransportTest {
    private final List<AutoCloseable> toClose = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private PeerTransport start(TransportConfig config, RecordingListener listener) throws IOException {
        return start(config, listener, new TransportFaultFilter());
    }

    private PeerTransport start(TransportConfig config, RecordingListener listener, TransportFaultFilter filter)
            throws IOException {
        PeerTransport t = PeerTransport.start(config, listener, filter);
        toClose.add(t);
        return t;
    }

    @Test
    void threeNodesExchangeBatchesAsOneFrameAndOneFlushPerSend() throws IOException {
        int nodes = 3;
        int rounds = 20;
        int groups = 5;
        List<PeerTransport> transports = new ArrayList<>();
        List<RecordingListener> listeners = new ArrayList<>();
        for (long id = 1; id <= nodes; id++) {
            RecordingListener l = new RecordingListener();
            listeners.add(l);
            transports.add(start(config(id), l));
        }
        connectAll(transports);

        // expected.get(to).get(from): what `to` must receive from `from`, in order.
        Map<Long, Map<Long, List<String>>> expected = new HashMap<>();
        for (int round = 0; round < rounds; round++) {
            for (long from = 1; from <= nodes; from++) {
                for (long to = 1; to <= nodes; to++) {
                    if (from == to) {
                        continue;
                    }
                    List<Message> batch = new ArrayList<>();
                    for (long g = 1; g <= groups; g++) {
                        Message m = append(g, from, to, round);
                        batch.add(m);
                        expected.computeIfAbsent(to, k -> new HashMap<>())
                                .computeIfAbsent(from, k -> new ArrayList<>()).add(key(m));
                    }
                    transports.get((int) from - 1).send(to, batch);
                }
            }
        }

        int perPeer = rounds * groups;
        for (int i = 0; i < nodes; i++) {
            RecordingListener l = listeners.get(i);
            waitUntil(() -> l.count() == perPeer * (nodes - 1), () -> "all messages at a node, have " + l.count());
        }
        for (int i = 0; i < nodes; i++) {
            long self = i + 1;
            RecordingListener l = listeners.get(i);
            for (long from = 1; from <= nodes; from++) {
                if (from != self) {
                    assertThat(l.keysFrom(from)).as("node %d from node %d, in order", self, from)
                            .isEqualTo(expected.get(self).get(from));
                }
            }
            assertThat(l.received).allSatisfy(r -> {
                assertThat(r.message().from).isEqualTo(r.fromNodeId());
                assertThat(r.message().to).isEqualTo(self);
                assertThat(r.threadName()).startsWith("flotilla-transport-" + self);
            });
            assertThat(l.unreachable).isEmpty();

            TransportStats s = transports.get(i).stats();
            int sends = rounds * (nodes - 1);
            assertThat(s.framesSent()).as("frames sent by node %d", self).isEqualTo(sends);
            assertThat(s.flushes()).as("flushes by node %d", self).isEqualTo(sends);
            assertThat(s.messagesSent()).isEqualTo((long) sends * groups);
            assertThat(s.framesReceived()).as("frames received by node %d", self).isEqualTo(sends);
            assertThat(s.messagesReceived()).isEqualTo((long) sends * groups);
            assertThat(s.bytesReceived()).isPositive();
            assertThat(s.malformedFrames() + s.oversizedFrames() + s.forgedMessagesDropped()
                    + s.messagesDroppedUnreachable() + s.writeFailures()).isZero();
        }
        long bytesSent = transports.stream().mapToLong(t -> t.stats().bytesSent()).sum();
        long bytesReceived = transports.stream().mapToLong(t -> t.stats().bytesReceived()).sum();
        assertThat(bytesReceived).isEqualTo(bytesSent);
    }

    @Test
    void aSendOverTheFrameLimitIsSplitIntoFramesButFlushedOnce() throws IOException {
        RecordingListener l1 = new RecordingListener();
        RecordingListener l2 = new RecordingListener();
        PeerTransport t1 = start(config(1).withMaxFrameBytes(1024), l1);
        PeerTransport t2 = start(config(2).withMaxFrameBytes(1024), l2);
        connectAll(List.of(t1, t2));

        List<Message> batch = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (long g = 1; g <= 100; g++) {
            Message m = append(g, 1, 2, g);
            batch.add(m);
            keys.add(key(m));
        }
        t1.send(2, batch);

        waitUntil(() -> l2.count() == 100, () -> "100 messages, have " + l2.count());
        assertThat(l2.keysFrom(1)).isEqualTo(keys);
        assertThat(t1.stats().framesSent()).isGreaterThan(1);
        assertThat(t1.stats().flushes()).isEqualTo(1);
        assertThat(t2.stats().framesReceived()).isEqualTo(t1.stats().framesSent());
        assertThat(t2.stats().oversizedFrames()).isZero();
    }

    @Test
    void aMessageOverTheFrameLimitIsDroppedAndTheRestOfTheSendDelivered() throws IOException {
        RecordingListener l1 = new RecordingListener();
        RecordingListener l2 = new RecordingListener();
        PeerTransport t1 = start(config(1).withMaxFrameBytes(1024), l1);
        PeerTransport t2 = start(config(2).withMaxFrameBytes(1024), l2);
        connectAll(List.of(t1, t2));

        List<Message> batch = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        for (long g = 1; g <= 30; g++) {
            Message m = append(g, 1, 2, g);
            if (g == 1 || g == 15 || g == 30) {
                m.entries = List.of(Entry.normal(3, 11 + g, new byte[2000]));
            } else {
                keys.add(key(m));
            }
            batch.add(m);
        }
        t1.send(2, batch);

        waitUntil(() -> l2.count() == 27, () -> "27 messages, have " + l2.count());
        assertThat(l2.keysFrom(1)).isEqualTo(keys);
        assertThat(t1.stats().oversizedMessagesDropped()).isEqualTo(3);
        assertThat(t1.stats().messagesSent()).isEqualTo(27);
        assertThat(t1.stats().flushes()).isEqualTo(1);
        waitUntil(() -> t2.stats().framesReceived() == t1.stats().framesSent(), () -> "every frame: " + t2.stats());
        assertThat(t2.stats().bytesReceived()).isEqualTo(t1.stats().bytesSent());
        assertThat(t2.stats().malformedFrames() + t2.stats().oversizedFrames()).isZero();
    }

    /** A node that dials `good` with a handshake `good` must refuse. */
    private void assertRefused(TransportConfig badConfig, long badDialsAs, HandshakeRefusal expected) throws IOException {
        RecordingListener goodListener = new RecordingListener();
        // The good node knows nodes 2 and 9 but cannot reach them: only the bad node's dials happen.
        PeerTransport good = start(config(1).withPeer(2, deadAddress()).withPeer(9, deadAddress()), goodListener);
        RecordingListener badListener = new RecordingListener();
        PeerTransport bad = start(badConfig, badListener);
        bad.addPeer(badDialsAs, good.localAddress());

        waitUntil(() -> good.stats().handshakesRefused(expected) >= 2,
                () -> "two refusals (" + expected + ", the second after a re-dial): " + good.stats());
        for (HandshakeRefusal other : HandshakeRefusal.values()) {
            if (other != expected) {
                assertThat(good.stats().handshakesRefused(other)).as("refused for %s", other).isZero();
            }
        }
        assertThat(good.stats().handshakesAccepted()).isZero();
        assertThat(bad.stats().reconnects()).isPositive();

        // The refused node never gets a connection: its sends are dropped and reported.
        assertThat(bad.isConnected(badDialsAs)).isFalse();
        bad.send(badDialsAs, List.of(append(1, badConfig.nodeId(), badDialsAs, 1)));
        assertThat(badListener.unreachable(badDialsAs)).isEqualTo(1);
        assertThat(bad.stats().sendsDroppedDisconnected()).isEqualTo(1);
        assertThat(bad.stats().framesSent()).isZero();
        assertThat(goodListener.received).isEmpty();
        assertThat(good.stats().framesReceived()).isZero();
    }

    @Test
    void aNodeOfAnotherClusterIsRefused() throws IOException {
        assertRefused(TransportConfig.of(CLUSTER + 1, 2, 0).withReconnectBackoffMs(10, 50), 1,
                HandshakeRefusal.CLUSTER_ID);
    }

    @Test
    void aHandshakeMeantForAnotherNodeIsRefused() throws IOException {
        // Node 2 believes node 3 lives at node 1's address.
        assertRefused(config(2).withReconnectBackoffMs(10, 50), 3, HandshakeRefusal.RECEIVER_ID);
    }

    @Test
    void anotherProtocolVersionIsRefused() throws IOException {
        assertRefused(config(2).withReconnectBackoffMs(10, 50).withProtocolVersion(TransportConfig.PROTOCOL_VERSION + 1),
                1, HandshakeRefusal.PROTOCOL_VERSION);
    }

    @Test
    void anUnknownSenderIsRefused() throws IOException {
        assertRefused(config(5).withReconnectBackoffMs(10, 50), 1, HandshakeRefusal.SENDER_ID);
    }

    @Test
    void aRestartedPeerIsRedialedAndDeliveryResumes() throws IOException {
        RecordingListener l1 = new RecordingListener();
        PeerTransport t1 = start(config(1), l1);
        RecordingListener l2 = new RecordingListener();
        PeerTransport t2 = PeerTransport.start(config(2), l2);
        int port2 = t2.localAddress().getPort();
        try {
            connectAll(List.of(t1, t2));
            t1.send(2, List.of(append(1, 1, 2, 1)));
            waitUntil(() -> l2.count() == 1, () -> "first message");
        } finally {
            t2.close();
        }

        // While node 2 is down every send is dropped and reported.
        long[] seq = {2};
        waitUntil(() -> {
            t1.send(2, List.of(append(1, 1, 2, seq[0]++)));
            return l1.unreachable(2) > 0;
        }, () -> "onUnreachable(2) while node 2 is down");
        assertThat(t1.isConnected(2)).isFalse();
        waitUntil(() -> t1.stats().reconnects() > 0, () -> "a re-dial scheduled while node 2 is down");
        long reconnectsWhileDown = t1.stats().reconnects();

        RecordingListener l2b = new RecordingListener();
        PeerTransport t2b = start(TransportConfig.of(CLUSTER, 2, port2).withReconnectBackoffMs(10, 200)
                .withPeer(1, t1.localAddress()), l2b);
        waitUntil(() -> t1.isConnected(2), () -> "node 1 re-dialed the restarted node 2: " + t1.stats());
        Message after = append(1, 1, 2, 1_000);
        t1.send(2, List.of(after));
        waitUntil(() -> l2b.count() == 1, () -> "delivery to the restarted node 2");
        assertThat(l2b.keysFrom(1)).containsExactly(key(after));
        assertThat(t1.stats().reconnects()).isGreaterThanOrEqualTo(reconnectsWhileDown);
        // And the restarted node reaches node 1 too.
        waitUntil(() -> t2b.isConnected(1), () -> "node 2 connected to node 1");
        t2b.send(1, List.of(append(1, 2, 1, 1)));
        waitUntil(() -> l1.count() == 1, () -> "delivery from the restarted node 2");
    }

    @Test
    void theFaultFilterDropsOneDirectionOnly() throws IOException {
        TransportFaultFilter filter = new TransportFaultFilter();
        RecordingListener l1 = new RecordingListener();
        RecordingListener l2 = new RecordingListener();
        PeerTransport t1 = start(config(1), l1, filter);
        PeerTransport t2 = start(config(2), l2, filter);
        connectAll(List.of(t1, t2));

        filter.drop(1, 2);
        Message lost = append(1, 1, 2, 1);
        t1.send(2, List.of(lost));
        Message back = append(1, 2, 1, 1);
        t2.send(1, List.of(back));
        waitUntil(() -> l1.count() == 1, () -> "2 -> 1 passes while 1 -> 2 is dropped");
        assertThat(t1.stats().messagesDroppedByFilter()).isEqualTo(1);
        assertThat(t1.stats().framesSent()).isZero();
        assertThat(l1.unreachable).as("a partition is silent, not a broken connection").isEmpty();

        filter.pass(1, 2);
        Message delivered = append(1, 1, 2, 2);
        t1.send(2, List.of(delivered));
        waitUntil(() -> l2.count() >= 1, () -> "1 -> 2 after healing");
        // Same connection, in order: had the dropped message been sent it would have arrived first.
        assertThat(l2.keysFrom(1)).containsExactly(key(delivered));
    }
}
