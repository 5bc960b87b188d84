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

import io.flotilla.transport.snapshot.SnapshotTestSupport.ReceivedRecorder;
import io.flotilla.transport.snapshot.SnapshotTestSupport.Sent;
import io.flotilla.transport.snapshot.SnapshotTestSupport.SentRecorder;
import io.flotilla.transport.snapshot.proto.FailureReason;
import io.flotilla.transport.snapshot.proto.Offer;
import io.flotilla.transport.snapshot.proto.SnapshotFrame;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The receiver's bounds on what it stores, over real loopback sockets into a {@link FileSnapshotSink}:
 * an image larger than {@link SnapshotConfig#maxImageBytes} is refused at its offer, before the
 * sink creates a file, and so is one that would make the sink hold more than
 * {@link SnapshotConfig#maxReceivedBytes}.
 */
class SnapshotLimitsTest {
    private static final int CHUNK = 8 << 10;

    @TempDir
    Path dir;

    private final ReceivedRecorder received = new ReceivedRecorder();
    private SnapshotReceiver receiver;

    @AfterEach
    void stop() {
        if (receiver != null) {
            receiver.close();
        }
    }

    private void startReceiver(SnapshotConfig config) throws IOException {
        receiver = SnapshotReceiver.start(config, new FileSnapshotSink(dir), received, PEERS_OF_2);
    }

    private List<String> files() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static SnapshotFrame readFrame(DataInputStream in) throws IOException {
        byte[] body = new byte[in.readInt()];
        in.readFully(body);
        return SnapshotFrame.parseFrom(body);
    }

    static byte[] offer(long groupId, long index, long term, long totalBytes, int chunkBytes) {
        return frame(SnapshotFrame.newBuilder().setOffer(Offer.newBuilder().setGroupId(groupId).setIndex(index)
                .setTerm(term).setTotalBytes(totalBytes).setChunkBytes(chunkBytes)).build().toByteArray());
    }

    @Test
    void anOfferOfAnAbsurdSizeIsRefusedBeforeAnythingIsStored() throws IOException {
        startReceiver(config(2).withChunking(CHUNK, 2L * CHUNK));
        // 4 EiB: a positive long, so only a bound on the size stops it.
        try (Socket raw = rawConnect(receiver.localAddress())) {
            OutputStream out = raw.getOutputStream();
            out.write(concat(handshake(CLUSTER, 1, 2, SnapshotConfig.PROTOCOL_VERSION), offer(10, 5, 1, 1L << 62, CHUNK)));
            out.flush();
            DataInputStream in = new DataInputStream(raw.getInputStream());
            assertThat(readFrame(in).getBodyCase()).isEqualTo(SnapshotFrame.BodyCase.HANDSHAKE);
            SnapshotFrame answer = readFrame(in);
            assertThat(answer.getBodyCase()).as("the answer to a 4 EiB offer: %s", answer)
                    .isEqualTo(SnapshotFrame.BodyCase.REFUSE);
            assertThat(answer.getRefuse().getReason()).isEqualTo(FailureReason.INVALID_OFFER);
            assertThat(answer.getRefuse().getDetail()).contains("4611686018427387904").contains("maxImageBytes");
            assertClosedByPeer(raw);
        }
        assertThat(receiver.stats().offersAccepted()).isZero();
        assertThat(receiver.stats().imagesTooLarge()).isEqualTo(1);
        assertThat(files()).as("nothing created for the refused offer").isEmpty();
    }

    @Test
    void anImageOverTheConfiguredLimitFailsAtOnceAndSmallerOnesStillArrive() throws IOException {
        long limit = 4L * CHUNK;
        startReceiver(config(2).withChunking(CHUNK, 2L * CHUNK).withMaxImageBytes(limit));
        InMemorySnapshotSource source = new InMemorySnapshotSource();
        byte[] fits = randomBytes(1, (int) limit);
        source.put(10, 5, 1, randomBytes(2, (int) limit + 1));
        source.put(11, 5, 1, fits);
        SentRecorder sent = new SentRecorder();
        try (SnapshotSender sender = SnapshotSender.start(config(1).withChunking(CHUNK, 2L * CHUNK), source, sent)) {
            sender.addPeer(2, receiver.localAddress());
            sender.send(2, 10, 5, 1);
            waitUntil(() -> sent.count() == 1, () -> "the oversized image's report: " + sender.stats());
            assertThat(sent.list()).containsExactly(new Sent(2, 10, 5, false));
            assertThat(sender.stats().attempts()).as("a refusal that retrying cannot change").isEqualTo(1);
            assertThat(sender.stats().chunksSent()).isZero();
            assertThat(files()).isEmpty();

            sender.send(2, 11, 5, 1);
            waitUntil(() -> sent.count() == 2, () -> "the fitting image's report: " + sender.stats());
            assertThat(sent.list()).containsExactly(new Sent(2, 10, 5, false), new Sent(2, 11, 5, true));
        }
        assertThat(receiver.stats().imagesTooLarge()).isEqualTo(1);
        assertThat(files()).containsExactly("snapshot-g11-i5-t1.snap");
        assertThat(Files.readAllBytes(dir.resolve("snapshot-g11-i5-t1.snap"))).isEqualTo(fits);
    }

    @Test
    void theReceivedBytesBoundCountsFinishedImagesAndWholeTransfersInProgress() throws Exception {
        startReceiver(config(2).withChunking(CHUNK, 2L * CHUNK).withImageLimits(4L * CHUNK, 10L * CHUNK));
        InMemorySnapshotSource source = new InMemorySnapshotSource();
        source.put(10, 5, 1, randomBytes(10, 4 * CHUNK));
        source.put(11, 5, 1, randomBytes(11, 4 * CHUNK));
        source.put(12, 5, 1, randomBytes(12, 3 * CHUNK));
        source.put(13, 5, 1, randomBytes(13, 2 * CHUNK));
        SnapshotFailpoints failpoints = new SnapshotFailpoints();
        SentRecorder sent = new SentRecorder();
        try (SnapshotSender sender = SnapshotSender.start(config(1).withChunking(CHUNK, 2L * CHUNK), source, sent,
                failpoints)) {
            sender.addPeer(2, receiver.localAddress());
            sender.send(2, 10, 5, 1);
            waitUntil(() -> sent.count() == 1, () -> "group 10's report: " + sender.stats());
            // Group 11 stalls after one chunk: its transfer holds room for all of its 4 chunks.
            failpoints.holdAtOffset = CHUNK;
            sender.send(2, 11, 5, 1);
            waitUntil(() -> receiver.stats().bytesAcked() == 5L * CHUNK, () -> "group 11's first chunk: "
                    + receiver.stats());

            // Finished 4 + reserved 4 + offered 3 chunks > 10.
            sender.send(2, 12, 5, 1);
            waitUntil(() -> sent.count() == 2, () -> "group 12's report: " + sender.stats());
            assertThat(sent.list()).containsExactly(new Sent(2, 10, 5, true), new Sent(2, 12, 5, false));
            assertThat(receiver.stats().capacityRefusals()).isEqualTo(1);
            assertThat(files()).containsExactly("partial-g11-i5-t1-n1.data", "partial-g11-i5-t1-n1.progress",
                    "snapshot-g10-i5-t1.snap");

            sender.releaseHold();
            waitUntil(() -> sent.count() == 3, () -> "group 11's report: " + sender.stats());
            // Finished 4 + 4, offered 3 > 10 still; then 2 fits exactly.
            sender.send(2, 12, 5, 1);
            waitUntil(() -> sent.count() == 4, () -> "group 12's second report: " + sender.stats());
            sender.send(2, 13, 5, 1);
            waitUntil(() -> sent.count() == 5, () -> "group 13's report: " + sender.stats());
            assertThat(sent.list()).containsExactly(new Sent(2, 10, 5, true), new Sent(2, 12, 5, false),
                    new Sent(2, 11, 5, true), new Sent(2, 12, 5, false), new Sent(2, 13, 5, true));
            assertThat(receiver.stats().capacityRefusals()).isEqualTo(2);

            // Once group 10's image is swept away, the leader's next try of group 12 goes through.
            SnapshotRetention.Swept swept = receiver.retain(SnapshotRetention.builder(group -> true)
                    .host(11, 5).host(12, 5).host(13, 5).build()).get(20, TimeUnit.SECONDS);
            assertThat(swept).isEqualTo(new SnapshotRetention.Swept(0, 0, 1, 4L * CHUNK));
            sender.send(2, 12, 5, 1);
            waitUntil(() -> sent.count() == 6, () -> "group 12's third report: " + sender.stats());
            assertThat(sent.list().get(5)).isEqualTo(new Sent(2, 12, 5, true));
        }
        assertThat(files()).containsExactly("snapshot-g11-i5-t1.snap", "snapshot-g12-i5-t1.snap",
                "snapshot-g13-i5-t1.snap");
    }
}
