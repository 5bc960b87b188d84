package io.flotilla.multiraft;

import static io.flotilla.multiraft.LocalCluster.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.transport.HandshakeRefusal;
import io.flotilla.transport.snapshot.InMemorySnapshotSource;
import io.flotilla.transport.snapshot.SnapshotConfig;
import io.flotilla.transport.snapshot.SnapshotSender;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Node 2's snapshot channel takes images only from the nodes registered with
 * {@link SnapshotStreams#addPeer}: any other sender is refused at the handshake and nothing reaches
 * the receive directory. Real loopback sockets; the senders are bare {@link SnapshotSender}s.
 */
class SnapshotStreamsPeerTest {
    static final long CLUSTER = 7;
    static final int CHUNK = 8 << 10;
    static final long TIMEOUT_MS = 20_000;
    /** Where node 2 would dial node 1's or node 3's receiver; these tests never send from node 2. */
    static final InetSocketAddress UNUSED = new InetSocketAddress("127.0.0.1", 9);

    @TempDir
    Path dir;

    record Sent(long peerNodeId, long groupId, long index, boolean ok) {
    }

    /** Records a sender's reports; written on its I/O thread, read by the test thread. */
    static final class SentRecorder implements SnapshotSender.Listener {
        final Queue<Sent> reports = new ConcurrentLinkedQueue<>();

        @Override
        public void onSnapshotSent(long peerNodeId, long groupId, long index, boolean ok) {
            reports.add(new Sent(peerNodeId, groupId, index, ok));
        }

        List<Sent> list() {
            return new ArrayList<>(reports);
        }
    }

    static SnapshotConfig config(long nodeId) {
        return SnapshotConfig.of(CLUSTER, nodeId, 0).withChunking(CHUNK, 2L * CHUNK).withRetry(5, 20, 2);
    }

    static byte[] randomBytes(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    static List<String> filesIn(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    /** Node {@code from} streams the group's image at index / term to node 2 and returns its report. */
    static Sent sendTo(SnapshotStreams node2, long from, long groupId, long index, long term, byte[] image) {
        InMemorySnapshotSource source = new InMemorySnapshotSource();
        source.put(groupId, index, term, image);
        SentRecorder sent = new SentRecorder();
        try (SnapshotSender sender = SnapshotSender.start(config(from), source, sent)) {
            sender.addPeer(2, node2.localAddress());
            assertThat(sender.send(2, groupId, index, term)).isEqualTo(SnapshotSender.SendResult.QUEUED);
            waitUntil(() -> !sent.reports.isEmpty(), TIMEOUT_MS, "node " + from + "'s report: " + sender.stats());
        }
        return sent.list().get(0);
    }

    @Test
    void aSenderThatIsNotAPeerIsRefusedAndWritesNothing() throws IOException {
        try (SnapshotStreams node2 = SnapshotStreams.start(config(2), dir)) {
            node2.addPeer(1, UNUSED);
            byte[] image = randomBytes(1, 3 * CHUNK + 5);

            assertThat(sendTo(node2, 3, 10, 50, 2, image)).as("node 3 is not a peer of node 2")
                    .isEqualTo(new Sent(2, 10, 50, false));
            waitUntil(() -> node2.receiverStats().handshakesRefused(HandshakeRefusal.SENDER_ID) == 2, TIMEOUT_MS,
                    "both of node 3's handshakes refused: " + node2.receiverStats());
            assertThat(node2.receiverStats().offersAccepted()).isZero();
            assertThat(node2.receiverStats().chunksReceived()).isZero();
            assertThat(node2.receivedImage(10, 50, 2)).isNull();
            assertThat(filesIn(dir)).as("nothing of node 3's reached the disk").isEmpty();

            assertThat(sendTo(node2, 1, 10, 50, 2, image)).as("node 1 is a peer").isEqualTo(new Sent(2, 10, 50, true));
            assertThat(Files.readAllBytes(node2.receivedImage(10, 50, 2))).isEqualTo(image);
        }
    }

    @Test
    void aRemovedPeerIsRefusedFromThenOn() throws IOException {
        try (SnapshotStreams node2 = SnapshotStreams.start(config(2), dir)) {
            node2.addPeer(1, UNUSED);
            node2.addPeer(3, UNUSED);
            assertThat(sendTo(node2, 3, 10, 50, 2, randomBytes(2, CHUNK))).isEqualTo(new Sent(2, 10, 50, true));

            node2.removePeer(3);
            assertThat(sendTo(node2, 3, 11, 60, 2, randomBytes(3, CHUNK))).as("node 3 was removed")
                    .isEqualTo(new Sent(2, 11, 60, false));
            assertThat(node2.receiverStats().handshakesRefused(HandshakeRefusal.SENDER_ID)).isEqualTo(2);
            assertThat(node2.receivedImage(11, 60, 2)).isNull();
            assertThat(filesIn(dir)).containsExactly("snapshot-g10-i50-t2.snap");
        }
    }
}
