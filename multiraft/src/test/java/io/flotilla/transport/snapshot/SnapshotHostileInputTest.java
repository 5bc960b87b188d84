package io.flotilla.transport.snapshot;

import static io.flotilla.transport.TransportTestSupport.assertClosedByPeer;
import static io.flotilla.transport.TransportTestSupport.concat;
import static io.flotilla.transport.TransportTestSupport.frame;
import static io.flotilla.transport.TransportTestSupport.rawConnect;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.CLUSTER;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.PEERS_OF_2;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.config;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.handshake;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.randomBytes;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.transport.HandshakeRefusal;
import io.flotilla.transport.snapshot.SnapshotTestSupport.ReceivedRecorder;
import io.flotilla.transport.snapshot.SnapshotTestSupport.Sent;
import io.flotilla.transport.snapshot.SnapshotTestSupport.SentRecorder;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Mismatched and hostile peers against node 2's snapshot receiver (and one hostile receiver against
 * a sender): each is refused or closed with a counted reason, stores nothing, and node 2 goes on
 * receiving from a well-behaved node 1.
 */
class SnapshotHostileInputTest {
    private static final int VERSION = SnapshotConfig.PROTOCOL_VERSION;
    private static final int CHUNK = 8 << 10;

    private final InMemorySnapshotSource source = new InMemorySnapshotSource();
    private final InMemorySnapshotSink sink = new InMemorySnapshotSink();
    private final ReceivedRecorder received = new ReceivedRecorder();
    private SnapshotReceiver receiver;
    private long nextGroup = 100;

    @BeforeEach
    void start() throws IOException {
        receiver = SnapshotReceiver.start(config(2).withChunking(CHUNK, 2L * CHUNK).withTimeoutsMs(300, 30_000),
                sink, received, PEERS_OF_2);
    }

    @AfterEach
    void stop() {
        receiver.close();
    }

    /** Node 1, configured right, still gets a snapshot through. */
    private void assertStillReceives() {
        long groupId = nextGroup++;
        byte[] data = randomBytes(groupId, 3 * CHUNK + 7);
        source.put(groupId, 1, 1, data);
        SentRecorder sent = new SentRecorder();
        try (SnapshotSender sender = SnapshotSender.start(config(1).withChunking(CHUNK, 2L * CHUNK), source, sent)) {
            sender.addPeer(2, receiver.localAddress());
            sender.send(2, groupId, 1, 1);
            waitUntil(() -> sent.count() == 1, () -> "node 1's transfer after the bad input");
            assertThat(sent.list()).containsExactly(new Sent(2, groupId, 1, true));
        }
        assertThat(sink.received(groupId).bytes()).isEqualTo(data);
    }

    private void assertRejected(byte[] bytes, ToLongFunction<SnapshotStats> counter, String what) throws IOException {
        long before = counter.applyAsLong(receiver.stats());
        int receivedBefore = received.count();
        try (Socket raw = rawConnect(receiver.localAddress())) {
            OutputStream out = raw.getOutputStream();
            out.write(bytes);
            out.flush();
            assertClosedByPeer(raw);
        }
        waitUntil(() -> counter.applyAsLong(receiver.stats()) == before + 1, () -> what + " counted: " + receiver.stats());
        assertThat(received.count()).isEqualTo(receivedBefore);
        assertThat(receiver.stats().offersAccepted()).as("no offer got past the bad input")
                .isEqualTo(receiver.stats().receivesCompleted());
        assertStillReceives();
    }

    private void assertSenderRefused(SnapshotConfig senderConfig, long peerNodeId, HandshakeRefusal reason)
            throws IOException {
        long groupId = nextGroup++;
        source.put(groupId, 1, 1, randomBytes(groupId, CHUNK));
        SentRecorder sent = new SentRecorder();
        long before = receiver.stats().handshakesRefused(reason);
        try (SnapshotSender sender = SnapshotSender.start(senderConfig.withRetry(5, 20, 2), source, sent)) {
            sender.addPeer(peerNodeId, receiver.localAddress());
            sender.send(peerNodeId, groupId, 1, 1);
            waitUntil(() -> sent.count() == 1, () -> "the refused sender's report");
            assertThat(sent.list()).containsExactly(new Sent(peerNodeId, groupId, 1, false));
            assertThat(sender.stats().attempts()).isEqualTo(2);
        }
        waitUntil(() -> receiver.stats().handshakesRefused(reason) == before + 2,
                () -> reason + " counted twice: " + receiver.stats());
        assertThat(receiver.stats().offersAccepted()).isEqualTo(receiver.stats().receivesCompleted());
        assertThat(sink.received(groupId)).isNull();
    }

    @Test
    void aSenderOfAnotherClusterOrForAnotherNodeIsRefusedAndCounted() throws IOException {
        assertSenderRefused(config(1).withClusterId(CLUSTER + 1).withChunking(CHUNK, 2L * CHUNK), 2,
                HandshakeRefusal.CLUSTER_ID);
        // Node 1 believes node 5 lives at node 2's address.
        assertSenderRefused(config(1).withChunking(CHUNK, 2L * CHUNK), 5, HandshakeRefusal.RECEIVER_ID);
        assertSenderRefused(config(1).withProtocolVersion(VERSION + 1).withChunking(CHUNK, 2L * CHUNK), 2,
                HandshakeRefusal.PROTOCOL_VERSION);
        assertStillReceives();
    }

    @Test
    void rawHandshakeMismatchesAreRefused() throws IOException {
        assertRejected(handshake(CLUSTER, 3, 2, VERSION + 7), s -> s.handshakesRefused(HandshakeRefusal.PROTOCOL_VERSION),
                "another protocol version");
        assertRejected(handshake(CLUSTER, 2, 2, VERSION), s -> s.handshakesRefused(HandshakeRefusal.SENDER_ID),
                "a sender claiming to be node 2 itself");
        assertRejected(handshake(CLUSTER, 4, 2, VERSION), s -> s.handshakesRefused(HandshakeRefusal.SENDER_ID),
                "node 4, not a peer of node 2");
        byte[] garbage = new byte[16];
        Arrays.fill(garbage, (byte) 0xFF);
        assertRejected(frame(garbage), s -> s.handshakesRefused(HandshakeRefusal.NOT_A_HANDSHAKE), "garbage");
        assertRejected(new byte[0], s -> s.handshakesRefused(HandshakeRefusal.HANDSHAKE_TIMEOUT), "silence");
    }

    @Test
    void anOversizedFrameClosesTheConnectionWithoutAllocating() throws IOException {
        long heapBefore = Runtime.getRuntime().totalMemory();
        byte[] twoGiB = ByteBuffer.allocate(4).putInt(1 << 31).array();
        assertRejected(concat(twoGiB, new byte[64]), SnapshotStats::oversizedFrames, "a 2 GiB first frame");
        assertRejected(concat(handshake(CLUSTER, 3, 2, VERSION), ByteBuffer.allocate(4).putInt(-1).array()),
                SnapshotStats::oversizedFrames, "a 4 GiB - 1 frame after the handshake");
        int limit = CHUNK + SnapshotConfig.FRAME_OVERHEAD_BYTES;
        assertRejected(concat(handshake(CLUSTER, 3, 2, VERSION), ByteBuffer.allocate(4).putInt(limit + 1).array()),
                SnapshotStats::oversizedFrames, "a frame one byte over the limit");
        assertThat(Runtime.getRuntime().totalMemory() - heapBefore).isLessThan(1L << 30);
        assertThat(receiver.stats().malformedFrames()).isZero();
    }

    @Test
    void chunksOverTheReceiversFrameLimitAreRefusedAtTheOfferNotRetried() throws IOException {
        source.put(50, 1, 1, randomBytes(50, 3 * SnapshotConfig.DEFAULT_CHUNK_BYTES));
        SentRecorder sent = new SentRecorder();
        try (SnapshotSender sender = SnapshotSender.start(config(1), source, sent)) {
            sender.addPeer(2, receiver.localAddress());
            sender.send(2, 50, 1, 1);
            waitUntil(() -> sent.count() == 1, () -> "the report");
            assertThat(sent.list()).containsExactly(new Sent(2, 50, 1, false));
            assertThat(sender.stats().attempts()).isEqualTo(1);
            assertThat(sender.stats().chunksSent()).isZero();
        }
        assertThat(receiver.stats().offersAccepted()).isZero();
        assertThat(receiver.stats().oversizedFrames()).isZero();
        assertStillReceives();
    }

    @Test
    void aSenderRefusesAnAnswerFromTheWrongNode() throws Exception {
        // A raw acceptor that answers as node 9 where node 2 was expected.
        AtomicReference<Throwable> serverError = new AtomicReference<>();
        try (ServerSocket server = new ServerSocket(0, 4, InetAddress.getLoopbackAddress())) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        try (Socket s = server.accept()) {
                            InputStream in = s.getInputStream();
                            byte[] length = in.readNBytes(4);
                            in.readNBytes(ByteBuffer.wrap(length).getInt());
                            s.getOutputStream().write(handshake(CLUSTER, 9, 1, VERSION));
                            s.getOutputStream().flush();
                            assertClosedByPeer(s);
                        }
                    }
                } catch (IOException e) {
                    // the server socket closed: the test is over
                } catch (Throwable t) {
                    serverError.set(t);
                }
            }, "raw-acceptor");
            acceptor.setDaemon(true);
            acceptor.start();
            source.put(1, 1, 1, randomBytes(1, CHUNK));
            SentRecorder sent = new SentRecorder();
            try (SnapshotSender sender = SnapshotSender.start(config(1).withRetry(5, 20, 2), source, sent)) {
                sender.addPeer(2, new InetSocketAddress("127.0.0.1", server.getLocalPort()));
                sender.send(2, 1, 1, 1);
                waitUntil(() -> sent.count() == 1, () -> "the report");
                assertThat(sent.list()).containsExactly(new Sent(2, 1, 1, false));
                assertThat(sender.stats().handshakesRefused(HandshakeRefusal.SENDER_ID)).isEqualTo(2);
                assertThat(sender.stats().chunksSent()).isZero();
            }
        }
        assertThat(serverError.get()).isNull();
    }
}
