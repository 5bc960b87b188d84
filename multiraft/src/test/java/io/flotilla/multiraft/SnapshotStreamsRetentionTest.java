package io.flotilla.multiraft;

import static io.flotilla.multiraft.LocalCluster.waitUntil;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.CHUNK;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.CLUSTER;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.TIMEOUT_MS;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.UNUSED;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.config;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.filesIn;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.randomBytes;
import static io.flotilla.multiraft.SnapshotStreamsPeerTest.sendTo;
import static io.flotilla.transport.TransportTestSupport.assertClosedByPeer;
import static io.flotilla.transport.TransportTestSupport.frame;
import static io.flotilla.transport.TransportTestSupport.rawConnect;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.flotilla.multiraft.SnapshotStreamsPeerTest.Sent;
import io.flotilla.transport.proto.Handshake;
import io.flotilla.transport.snapshot.InMemorySnapshotSource;
import io.flotilla.transport.snapshot.SnapshotConfig;
import io.flotilla.transport.snapshot.SnapshotRetention;
import io.flotilla.transport.snapshot.proto.Chunk;
import io.flotilla.transport.snapshot.proto.FailureReason;
import io.flotilla.transport.snapshot.proto.Finish;
import io.flotilla.transport.snapshot.proto.Offer;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SnapshotStreams#retainReceived}: the runtime names the groups it hosts and the lowest image
 * index each may still need, and every other received image of the groups it rules on goes —
 * finished, partial, or still arriving. Real loopback sockets: finished images come from a
 * {@code SnapshotSender} as node 1, partial ones from raw frames as node 1.
 */
class SnapshotStreamsRetentionTest {
    @TempDir
    Path dir;

    /** A transfer from node 1 driven frame by frame: the test plays a sender that stops where it likes. */
    static final class RawTransfer implements AutoCloseable {
        final Socket socket;
        final OutputStream out;
        final DataInputStream in;
        final byte[] image;

        /** Dials node 2, offers the image and sends its first {@code prefixBytes}; returns once they are acknowledged. */
        RawTransfer(SnapshotStreams node2, long groupId, long index, long term, byte[] image, int prefixBytes)
                throws IOException {
            this.image = image;
            socket = rawConnect(node2.localAddress());
            out = socket.getOutputStream();
            in = new DataInputStream(socket.getInputStream());
            write(SnapshotFrame.newBuilder().setHandshake(Handshake.newBuilder().setClusterId(CLUSTER)
                    .setSenderNodeId(1).setReceiverNodeId(2).setProtocolVersion(SnapshotConfig.PROTOCOL_VERSION)).build());
            write(SnapshotFrame.newBuilder().setOffer(Offer.newBuilder().setGroupId(groupId).setIndex(index)
                    .setTerm(term).setTotalBytes(image.length).setChunkBytes(CHUNK)).build());
            assertThat(read().getBodyCase()).isEqualTo(SnapshotFrame.BodyCase.HANDSHAKE);
            SnapshotFrame accept = read();
            assertThat(accept.getBodyCase()).as("the answer to the offer: %s", accept)
                    .isEqualTo(SnapshotFrame.BodyCase.ACCEPT);
            assertThat(accept.getAccept().getResumeOffset()).isZero();
            sendChunks(0, prefixBytes);
            SnapshotFrame ack = read();
            assertThat(ack.getBodyCase()).isEqualTo(SnapshotFrame.BodyCase.ACK);
            assertThat(ack.getAck().getDurableBytes()).isEqualTo(prefixBytes);
        }

        void write(SnapshotFrame f) throws IOException {
            out.write(frame(f.toByteArray()));
            out.flush();
        }

        SnapshotFrame read() throws IOException {
            byte[] body = new byte[in.readInt()];
            in.readFully(body);
            return SnapshotFrame.parseFrom(body);
        }

        void sendChunks(int from, int to) throws IOException {
            for (int at = from; at < to; at += CHUNK) {
                byte[] data = Arrays.copyOfRange(image, at, Math.min(to, at + CHUNK));
                write(SnapshotFrame.newBuilder().setChunk(Chunk.newBuilder().setOffset(at)
                        .setCrc32C(InMemorySnapshotSource.crc32c(data)).setData(ByteString.copyFrom(data))).build());
            }
        }

        /** Sends the rest and the finish; returns the outcome (acks before it skipped). */
        SnapshotFrame finish(int from) throws IOException {
            sendChunks(from, image.length);
            write(SnapshotFrame.newBuilder().setFinish(Finish.newBuilder()
                    .setSnapshotCrc32C(InMemorySnapshotSource.crc32c(image))).build());
            SnapshotFrame f;
            do {
                f = read();
            } while (f.getBodyCase() == SnapshotFrame.BodyCase.ACK);
            return f;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }

    private static long sizes(Path directory, List<String> names) throws IOException {
        long total = 0;
        for (String name : names) {
            total += Files.size(directory.resolve(name));
        }
        return total;
    }

    @Test
    void imagesOfGroupsNotHostedAndImagesBelowWhatAGroupNeedsAreDeleted() throws Exception {
        try (SnapshotStreams node2 = SnapshotStreams.start(config(2), dir)) {
            node2.addPeer(1, UNUSED);
            // Group 10 is hosted and needs index 9 or later; 11 restored the image at 3 and still needs it;
            // 12 was removed from this node (tombstoned); 13 is unknown here; 20 belongs to another worker.
            for (long[] image : new long[][] {{10, 5}, {10, 9}, {11, 3}, {12, 7}, {20, 2}}) {
                assertThat(sendTo(node2, 1, image[0], image[1], 1, randomBytes(image[0] * 100 + image[1], 2 * CHUNK)))
                        .isEqualTo(new Sent(2, image[0], image[1], true));
            }
            byte[] newer10 = randomBytes(1012, 3 * CHUNK);
            long suspendedBefore = node2.receiverStats().suspended();
            // Two senders that stop after one chunk: the receiver keeps their durable prefixes to resume.
            new RawTransfer(node2, 13, 4, 1, randomBytes(1304, 3 * CHUNK), CHUNK).close();
            new RawTransfer(node2, 10, 12, 1, newer10, CHUNK).close();
            waitUntil(() -> node2.receiverStats().suspended() == suspendedBefore + 2, TIMEOUT_MS,
                    "both raw transfers suspended: " + node2.receiverStats());
            List<String> unneeded = List.of("partial-g13-i4-t1-n1.data", "partial-g13-i4-t1-n1.progress",
                    "snapshot-g10-i5-t1.snap", "snapshot-g12-i7-t1.snap");
            assertThat(filesIn(dir)).containsAll(unneeded);
            long unneededBytes = sizes(dir, unneeded);

            SnapshotRetention retention = SnapshotRetention.builder(group -> group != 20).host(10, 9).host(11, 3).build();
            SnapshotRetention.Swept swept = node2.retainReceived(retention).get(TIMEOUT_MS, TimeUnit.MILLISECONDS);

            assertThat(filesIn(dir)).containsExactly("partial-g10-i12-t1-n1.data", "partial-g10-i12-t1-n1.progress",
                    "snapshot-g10-i9-t1.snap", "snapshot-g11-i3-t1.snap", "snapshot-g20-i2-t1.snap");
            assertThat(swept).isEqualTo(new SnapshotRetention.Swept(0, 1, 2, unneededBytes));
            // The partial kept is still good: the transfer resumes from it and completes.
            assertThat(sendTo(node2, 1, 10, 12, 1, newer10)).isEqualTo(new Sent(2, 10, 12, true));
            assertThat(Files.readAllBytes(node2.receivedImage(10, 12, 1))).isEqualTo(newer10);
        }
    }

    @Test
    void aTransferStillArrivingForAGroupNoLongerHostedIsFailedAndDiscarded() throws Exception {
        try (SnapshotStreams node2 = SnapshotStreams.start(config(2), dir)) {
            node2.addPeer(1, UNUSED);
            byte[] stale = randomBytes(14, 3 * CHUNK);
            byte[] wanted = randomBytes(15, 3 * CHUNK);
            try (RawTransfer gone = new RawTransfer(node2, 14, 6, 1, stale, CHUNK);
                 RawTransfer kept = new RawTransfer(node2, 15, 8, 1, wanted, CHUNK)) {
                SnapshotRetention retention = SnapshotRetention.builder(group -> true).host(15, 8).build();
                SnapshotRetention.Swept swept = node2.retainReceived(retention).get(TIMEOUT_MS, TimeUnit.MILLISECONDS);

                assertThat(swept.transfersAborted()).isEqualTo(1);
                SnapshotFrame outcome = gone.read();
                assertThat(outcome.getBodyCase()).as("what the stale transfer's sender hears: %s", outcome)
                        .isEqualTo(SnapshotFrame.BodyCase.OUTCOME);
                assertThat(outcome.getOutcome().getOk()).isFalse();
                assertThat(outcome.getOutcome().getReason()).isEqualTo(FailureReason.SINK_ERROR);
                assertThat(outcome.getOutcome().getDetail()).contains("group 14").contains("no longer needs");
                assertClosedByPeer(gone.socket);
                assertThat(filesIn(dir)).containsExactly("partial-g15-i8-t1-n1.data", "partial-g15-i8-t1-n1.progress");

                SnapshotFrame done = kept.finish(CHUNK);
                assertThat(done.getBodyCase()).isEqualTo(SnapshotFrame.BodyCase.OUTCOME);
                assertThat(done.getOutcome().getOk()).as("the needed transfer: %s", done).isTrue();
            }
            assertThat(node2.receiverStats().retentionAborts()).isEqualTo(1);
            assertThat(filesIn(dir)).containsExactly("snapshot-g15-i8-t1.snap");
            assertThat(Files.readAllBytes(node2.receivedImage(15, 8, 1))).isEqualTo(wanted);
        }
    }
}
