package io.flotilla.transport;

import static io.flotilla.transport.TransportTestSupport.CLUSTER;
import static io.flotilla.transport.TransportTestSupport.append;
import static io.flotilla.transport.TransportTestSupport.assertClosedByPeer;
import static io.flotilla.transport.TransportTestSupport.batch;
import static io.flotilla.transport.TransportTestSupport.concat;
import static io.flotilla.transport.TransportTestSupport.config;
import static io.flotilla.transport.TransportTestSupport.connectAll;
import static io.flotilla.transport.TransportTestSupport.deadAddress;
import static io.flotilla.transport.TransportTestSupport.frame;
import static io.flotilla.transport.TransportTestSupport.handshake;
import static io.flotilla.transport.TransportTestSupport.key;
import static io.flotilla.transport.TransportTestSupport.rawConnect;
import static io.flotilla.transport.TransportTestSupport.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.raft.Message;
import io.flotilla.transport.TransportTestSupport.RecordingListener;
import io.flotilla.wire.ReferenceRaftCodec;
import io.flotilla.wire.proto.MessageBatch;
import io.flotilla.wire.proto.RaftMessage;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A raw socket plays a broken or hostile peer against node 1 (which knows node 3 but cannot reach
 * it, so the raw socket can claim to be node 3). Each input that leaves the stream untrustworthy
 * closes that connection with a counted reason, reaches no listener, and leaves node 1 serving its
 * well-behaved peer, node 2; a message that parses but is invalid or forged is dropped alone.
 */
class HostileInputTest {
    private static final int VERSION = TransportConfig.PROTOCOL_VERSION;

    private final RecordingListener listener1 = new RecordingListener();
    private final RecordingListener listener2 = new RecordingListener();
    private PeerTransport node1;
    private PeerTransport node2;
    private long nextSeq = 1;

    @BeforeEach
    void start() throws IOException {
        node1 = PeerTransport.start(config(1).withPeer(3, deadAddress()).withHandshakeTimeoutMs(300), listener1);
        node2 = PeerTransport.start(config(2), listener2);
        connectAll(List.of(node1, node2));
    }

    @AfterEach
    void stop() {
        node2.close();
        node1.close();
    }

    /** Sends `bytes` on a fresh raw connection, then expects node 1 to close it and `counter` to go up by one. */
    private void assertRejected(byte[] bytes, boolean halfClose, ToLongFunction<TransportStats> counter, String what)
            throws IOException {
        long before = counter.applyAsLong(node1.stats());
        try (Socket raw = rawConnect(node1.localAddress())) {
            OutputStream out = raw.getOutputStream();
            out.write(bytes);
            out.flush();
            if (halfClose) {
                raw.shutdownOutput();
            }
            assertClosedByPeer(raw);
        }
        waitUntil(() -> counter.applyAsLong(node1.stats()) == before + 1, () -> what + " counted: " + node1.stats());
        assertThat(listener1.received).as("nothing from the raw connection reached the listener").isEmpty();
        assertStillServesNode2();
    }

    private void assertStillServesNode2() {
        Message m = append(1, 2, 1, nextSeq++);
        node2.send(1, List.of(m));
        waitUntil(() -> listener1.count() == 1, () -> "node 2's message after the bad input");
        assertThat(listener1.keysFrom(2)).containsExactly(key(m));
        listener1.received.clear();
    }

    private static byte[] lengthField(long length) {
        return ByteBuffer.allocate(4).putInt((int) length).array();
    }

    private static byte[] garbage(int n) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) 0xFF);
        return b;
    }

    @Test
    void aLengthFieldOfTwoGibibytesIsRefusedWithoutAllocating() throws IOException {
        long heapBefore = Runtime.getRuntime().totalMemory();
        // Before the handshake, and after it; 2^31 (reads negative as an int) and 2^32 - 1.
        assertRejected(concat(lengthField(1L << 31), garbage(64)), false, TransportStats::oversizedFrames,
                "a 2 GiB length as the first frame");
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION), lengthField(1L << 31), garbage(64)), false,
                TransportStats::oversizedFrames, "a 2 GiB length after the handshake");
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION), lengthField(0xFFFF_FFFFL)), false,
                TransportStats::oversizedFrames, "a 4 GiB - 1 length");
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION), lengthField(TransportConfig.DEFAULT_MAX_FRAME_BYTES + 1)),
                false, TransportStats::oversizedFrames, "a length one byte over the limit");
        // No buffer of the claimed size was made: the heap did not grow by gigabytes.
        assertThat(Runtime.getRuntime().totalMemory() - heapBefore).isLessThan(1L << 30);
        assertThat(node1.stats().malformedFrames()).isZero();
    }

    @Test
    void garbageIsRefused() throws IOException {
        // An HTTP request: its first four bytes read as a ~1.2 GB length.
        assertRejected("GET / HTTP/1.1\r\nHost: flotilla\r\n\r\n".getBytes(StandardCharsets.US_ASCII), false,
                TransportStats::oversizedFrames, "an HTTP request");
        // A well-framed first frame that is not a handshake.
        assertRejected(frame(garbage(16)), false, s -> s.handshakesRefused(HandshakeRefusal.NOT_A_HANDSHAKE),
                "garbage instead of a handshake");
        // A good handshake, then a frame that does not parse as a batch.
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION), frame(garbage(16))), false,
                TransportStats::malformedFrames, "a garbage batch");
    }

    /**
     * One connection carries every group: a message that parses but is invalid (an unknown type, a
     * value of 2^63 or more, a gap in its entries) is dropped alone, and the messages around it, of
     * other groups, still arrive, as do later frames on the same connection.
     */
    @Test
    void anInvalidMessageIsDroppedAloneAndTheRestOfItsBatchIsDelivered() throws IOException {
        Message before = append(1, 3, 1, 1);
        Message after = append(5, 3, 1, 1);
        RaftMessage unknownType = ReferenceRaftCodec.toProto(append(2, 3, 1, 1)).toBuilder().setTypeValue(99).build();
        RaftMessage hugeTerm = ReferenceRaftCodec.toProto(append(3, 3, 1, 1)).toBuilder().setTerm(-1L).build();
        RaftMessage gap = ReferenceRaftCodec.toProto(append(4, 3, 1, 1)).toBuilder().setIndex(0).build();
        byte[] body = MessageBatch.newBuilder()
                .addMessages(ReferenceRaftCodec.toProto(before))
                .addMessages(unknownType)
                .addMessages(hugeTerm)
                .addMessages(gap)
                .addMessages(RaftMessage.newBuilder().setGroupId(6).setFrom(3).setTo(1))   // type 0, no term
                .addMessages(ReferenceRaftCodec.toProto(after))
                .build().toByteArray();
        try (Socket raw = rawConnect(node1.localAddress())) {
            OutputStream out = raw.getOutputStream();
            out.write(concat(handshake(CLUSTER, 3, 1, VERSION), frame(body)));
            out.flush();
            waitUntil(() -> listener1.count() == 2, () -> "the two valid messages around the invalid ones");
            assertThat(listener1.keysFrom(3)).containsExactly(key(before), key(after));
            assertThat(node1.stats().invalidMessagesDropped()).isEqualTo(4);
            assertThat(node1.stats().malformedFrames()).isZero();
            Message later = append(1, 3, 1, 2);
            out.write(batch(later));
            out.flush();
            waitUntil(() -> listener1.count() == 3, () -> "a later message on the same connection");
        }
        listener1.received.clear();
        assertStillServesNode2();
    }

    @Test
    void aTruncatedFrameIsCountedWhenTheConnectionEnds() throws IOException {
        byte[] whole = batch(append(1, 3, 1, 1));
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION), Arrays.copyOf(whole, whole.length - 3)), true,
                TransportStats::malformedFrames, "a truncated batch");
        assertRejected(new byte[] {0, 0}, true, TransportStats::malformedFrames, "half a length field");
        assertThat(node1.stats().framesReceived()).as("only node 2's frames").isEqualTo(2);
    }

    @Test
    void aRefusedHandshakeDeliversNothingEvenIfABatchFollowsAtOnce() throws IOException {
        assertRejected(concat(handshake(CLUSTER + 1, 3, 1, VERSION), batch(append(1, 3, 1, 1))), false,
                s -> s.handshakesRefused(HandshakeRefusal.CLUSTER_ID), "another cluster");
        assertRejected(concat(handshake(CLUSTER, 3, 2, VERSION), batch(append(1, 3, 1, 1))), false,
                s -> s.handshakesRefused(HandshakeRefusal.RECEIVER_ID), "another receiver");
        assertRejected(concat(handshake(CLUSTER, 3, 1, VERSION + 1), batch(append(1, 3, 1, 1))), false,
                s -> s.handshakesRefused(HandshakeRefusal.PROTOCOL_VERSION), "another version");
        assertRejected(concat(handshake(CLUSTER, 1, 1, VERSION), batch(append(1, 1, 1, 1))), false,
                s -> s.handshakesRefused(HandshakeRefusal.SENDER_ID), "a peer claiming to be node 1 itself");
    }

    @Test
    void aSilentConnectionIsClosedAfterTheHandshakeTimeout() throws IOException {
        assertRejected(new byte[0], false, s -> s.handshakesRefused(HandshakeRefusal.HANDSHAKE_TIMEOUT),
                "a connection that never says hello");
    }

    @Test
    void messagesClaimingAnotherSenderOrReceiverAreDropped() throws IOException {
        Message genuine = append(1, 3, 1, 1);
        Message forgedSender = append(2, 2, 1, 1);   // node 3 speaking for node 2
        Message otherReceiver = append(3, 3, 4, 1);  // addressed to node 4, not node 1
        try (Socket raw = rawConnect(node1.localAddress())) {
            OutputStream out = raw.getOutputStream();
            out.write(concat(handshake(CLUSTER, 3, 1, VERSION), batch(forgedSender, genuine, otherReceiver)));
            out.flush();
            waitUntil(() -> listener1.count() == 1, () -> "the genuine message");
            assertThat(listener1.keysFrom(3)).containsExactly(key(genuine));
            assertThat(node1.stats().forgedMessagesDropped()).isEqualTo(2);
            assertThat(node1.stats().malformedFrames()).isZero();
            // The connection stays up: a forged message is dropped, not fatal.
            Message later = append(1, 3, 1, 2);
            out.write(batch(later));
            out.flush();
            waitUntil(() -> listener1.count() == 2, () -> "a later genuine message on the same connection");
        }
        listener1.received.clear();
        assertStillServesNode2();
    }
}
