package io.flotilla.transport.snapshot;

import static io.flotilla.transport.snapshot.SnapshotTestSupport.PEERS_OF_2;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.config;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.randomBytes;
import static io.flotilla.transport.snapshot.SnapshotTestSupport.waitUntil;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.transport.snapshot.SnapshotTestSupport.Received;
import io.flotilla.transport.snapshot.SnapshotTestSupport.ReceivedRecorder;
import io.flotilla.transport.snapshot.SnapshotTestSupport.Sent;
import io.flotilla.transport.snapshot.SnapshotTestSupport.SentRecorder;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Node 1 streams snapshots to node 2 over real loopback sockets, into an in-memory sink. */
class SnapshotStreamingTest {
    private static final int SMALL_CHUNK = 8 << 10;

    private final InMemorySnapshotSource source = new InMemorySnapshotSource();
    private final InMemorySnapshotSink sink = new InMemorySnapshotSink();
    private final SnapshotFailpoints failpoints = new SnapshotFailpoints();
    private final SentRecorder sent = new SentRecorder();
    private final ReceivedRecorder received = new ReceivedRecorder();
    private final List<AutoCloseable> toClose = new ArrayList<>();
    private SnapshotSender sender;
    private SnapshotReceiver receiver;

    @AfterEach
    void stop() throws Exception {
        for (int i = toClose.size() - 1; i >= 0; i--) {
            toClose.get(i).close();
        }
    }

    private void start(SnapshotConfig senderConfig, SnapshotConfig receiverConfig) throws IOException {
        receiver = SnapshotReceiver.start(receiverConfig, sink, received, PEERS_OF_2);
        toClose.add(receiver);
        sender = SnapshotSender.start(senderConfig, source, sent, failpoints);
        toClose.add(sender);
        sender.addPeer(2, receiver.localAddress());
    }

    private void startSmall(long windowBytes) throws IOException {
        start(config(1).withChunking(SMALL_CHUNK, windowBytes), config(2).withChunking(SMALL_CHUNK, windowBytes));
    }

    private void assertArrivedIntact(long groupId, byte[] expected) {
        InMemorySnapshotSink.Received got = sink.received(groupId);
        assertThat(got).as("group %d's snapshot in the sink", groupId).isNotNull();
        assertThat(got.bytes()).as("group %d's bytes", groupId).isEqualTo(expected);
        assertThat(got.checksum()).isEqualTo(InMemorySnapshotSource.crc32c(expected));
    }

    @Test
    void aMultiChunkSnapshotArrivesIntact() throws IOException {
        start(config(1), config(2));
        int chunk = SnapshotConfig.DEFAULT_CHUNK_BYTES;
        byte[] data = randomBytes(1, 5 * chunk + chunk / 2 + 123);
        source.put(10, 500, 3, data);

        assertThat(sender.send(2, 10, 500, 3)).isEqualTo(SnapshotSender.SendResult.QUEUED);
        assertThat(sender.send(2, 10, 500, 3)).as("a second request while the first runs")
                .isEqualTo(SnapshotSender.SendResult.ALREADY_QUEUED);
        waitUntil(() -> sent.count() == 1, () -> "the sender's report: " + sender.stats());

        assertThat(sent.list()).containsExactly(new Sent(2, 10, 500, true));
        assertThat(received.list()).containsExactly(new Received(10, 500, 3));
        assertArrivedIntact(10, data);
        SnapshotStats out = sender.stats();
        assertThat(out.chunksSent()).isEqualTo(6);
        assertThat(out.chunkBytesSent()).isEqualTo(data.length);
        assertThat(out.attempts()).isEqualTo(1);
        assertThat(out.maxInFlightBytes()).as("the window bounds unacknowledged bytes")
                .isLessThanOrEqualTo(SnapshotConfig.DEFAULT_WINDOW_BYTES);
        assertThat(out.queuedSends()).isZero();
        assertThat(receiver.stats().chunksReceived()).isEqualTo(6);
        assertThat(receiver.stats().bytesAcked()).isEqualTo(data.length);
        assertThat(receiver.stats().activeReceives()).isZero();
        assertThat(sink.partialCount()).isZero();
    }

    @Test
    void anEmptySnapshotAndAMissingOneAreReported() throws IOException {
        startSmall(4 * SMALL_CHUNK);
        source.put(1, 7, 1, new byte[0]);
        sender.send(2, 1, 7, 1);
        sender.send(2, 2, 9, 1); // not in the source
        waitUntil(() -> sent.count() == 2, () -> "both reports");
        assertThat(sent.list()).containsExactlyInAnyOrder(new Sent(2, 1, 7, true), new Sent(2, 2, 9, false));
        assertArrivedIntact(1, new byte[0]);
    }

    @Test
    void concurrentTransfersNeverExceedTheLimitOnEitherSide() throws IOException {
        startSmall(2 * SMALL_CHUNK);
        int groups = 6;
        byte[][] data = new byte[groups + 1][];
        for (int g = 1; g <= groups; g++) {
            data[g] = randomBytes(g, 5 * SMALL_CHUNK + g * 100);
            source.put(g, 100 + g, 2, data[g]);
        }
        // Every transfer stalls after its first chunk, so the running ones stay running.
        failpoints.holdAtOffset = SMALL_CHUNK;
        for (int g = 1; g <= groups; g++) {
            assertThat(sender.send(2, g, 100 + g, 2)).isEqualTo(SnapshotSender.SendResult.QUEUED);
        }
        waitUntil(() -> receiver.stats().bytesAcked() == 2L * SMALL_CHUNK,
                () -> "two transfers running and stalled: " + sender.stats() + " " + receiver.stats());
        assertThat(sender.stats().activeSends()).isEqualTo(2);
        assertThat(sender.stats().queuedSends()).isEqualTo(groups);
        assertThat(receiver.stats().activeReceives()).isEqualTo(2);

        sender.releaseHold();
        waitUntil(() -> sent.count() == groups, () -> "every report: " + sender.stats());
        for (int g = 1; g <= groups; g++) {
            assertThat(sent.list()).contains(new Sent(2, g, 100 + g, true));
            assertArrivedIntact(g, data[g]);
        }
        assertThat(sender.stats().maxActiveSends()).isEqualTo(2);
        assertThat(receiver.stats().maxActiveReceives()).isEqualTo(2);
        assertThat(receiver.stats().busyRefusals()).as("the sender's limit kept it under the receiver's").isZero();
        assertThat(sender.stats().maxInFlightBytes()).isLessThanOrEqualTo(2L * SMALL_CHUNK);
        assertThat(sender.stats().attempts()).isEqualTo(groups);
    }

    @Test
    void aCorruptedChunkFailsTheTransferCleanly() throws IOException {
        startSmall(4 * SMALL_CHUNK);
        byte[] data = randomBytes(3, 10 * SMALL_CHUNK);
        source.put(5, 40, 2, data);
        failpoints.corruptChunkAtOffset.set(3L * SMALL_CHUNK + 17);

        sender.send(2, 5, 40, 2);
        waitUntil(() -> sent.count() == 1, () -> "the report");
        assertThat(sent.list()).containsExactly(new Sent(2, 5, 40, false));
        assertThat(receiver.stats().chunkChecksumFailures()).isEqualTo(1);
        assertThat(receiver.stats().receivesFailed()).isEqualTo(1);
        assertThat(received.count()).isZero();
        assertThat(sink.received(5)).isNull();
        assertThat(sink.partialCount()).as("the partial was aborted").isZero();
        assertThat(sender.stats().attempts()).as("a corrupt transfer is not retried").isEqualTo(1);
        waitUntil(() -> receiver.stats().activeReceives() == 0, () -> "the slot released");

        // Nothing is left behind: the same snapshot goes through on the next request.
        sender.send(2, 5, 40, 2);
        waitUntil(() -> sent.count() == 2, () -> "the second report");
        assertThat(sent.list().get(1)).isEqualTo(new Sent(2, 5, 40, true));
        assertArrivedIntact(5, data);
    }

    @Test
    void aBadSourceReadFailsTheWholeSnapshotChecksum() throws IOException {
        startSmall(4 * SMALL_CHUNK);
        byte[] data = randomBytes(4, 6 * SMALL_CHUNK + 5);
        source.put(6, 41, 2, data);
        failpoints.corruptSourceAtOffset.set(4L * SMALL_CHUNK + 3);

        sender.send(2, 6, 41, 2);
        waitUntil(() -> sent.count() == 1, () -> "the report");
        assertThat(sent.list()).containsExactly(new Sent(2, 6, 41, false));
        assertThat(receiver.stats().chunkChecksumFailures()).as("each chunk matched its own CRC").isZero();
        assertThat(receiver.stats().snapshotChecksumFailures()).isEqualTo(1);
        assertThat(receiver.stats().chunksReceived()).isEqualTo(7);
        assertThat(received.count()).isZero();
        assertThat(sink.received(6)).isNull();
        assertThat(sink.partialCount()).isZero();
    }

    @Test
    void aCutConnectionResumesFromTheLastAcknowledgedChunk() throws IOException {
        long window = 2L * SMALL_CHUNK;
        startSmall(window);
        byte[] data = randomBytes(5, 20 * SMALL_CHUNK + 100);
        source.put(7, 90, 4, data);
        long cutAt = 8L * SMALL_CHUNK;
        failpoints.cutConnectionAtOffset.set(cutAt);

        sender.send(2, 7, 90, 4);
        waitUntil(() -> sent.count() == 1, () -> "the report: " + sender.stats() + " " + receiver.stats());
        assertThat(sent.list()).containsExactly(new Sent(2, 7, 90, true));
        assertArrivedIntact(7, data);

        SnapshotStats out = sender.stats();
        assertThat(out.attempts()).isEqualTo(2);
        assertThat(out.resumes()).isEqualTo(1);
        // When the cut came, at most a window was unacknowledged, so the resume point is past it.
        assertThat(out.resumedBytes()).isBetween(cutAt - window, cutAt).isPositive();
        assertThat(out.resumedBytes() % SMALL_CHUNK).as("resumed at a chunk boundary").isZero();
        long resent = out.chunkBytesSent() - data.length;
        assertThat(resent).as("bytes sent twice").isEqualTo(cutAt - out.resumedBytes()).isLessThan(data.length);
        assertThat(receiver.stats().suspended()).isEqualTo(1);
        assertThat(receiver.stats().offersAccepted()).isEqualTo(2);
    }

    @Test
    void aBusyReceiverIsRetriedWithBackoff() throws IOException {
        // Node 2 takes one transfer at a time; nodes 1 and 3 each send one.
        start(config(1).withChunking(SMALL_CHUNK, 2 * SMALL_CHUNK),
                config(2).withChunking(SMALL_CHUNK, 2 * SMALL_CHUNK).withConcurrency(2, 1));
        SentRecorder sent3 = new SentRecorder();
        SnapshotSender sender3 = SnapshotSender.start(config(3).withChunking(SMALL_CHUNK, 2 * SMALL_CHUNK), source, sent3);
        toClose.add(sender3);
        sender3.addPeer(2, receiver.localAddress());
        byte[] a = randomBytes(6, 4 * SMALL_CHUNK);
        byte[] b = randomBytes(7, 3 * SMALL_CHUNK + 1);
        source.put(1, 10, 1, a);
        source.put(3, 30, 1, b);

        failpoints.holdAtOffset = SMALL_CHUNK;
        sender.send(2, 1, 10, 1);
        waitUntil(() -> receiver.stats().activeReceives() == 1, () -> "node 1's transfer running");
        sender3.send(2, 3, 30, 1);
        waitUntil(() -> sender3.stats().busyRetries() >= 2, () -> "node 3 refused twice: " + sender3.stats());
        assertThat(receiver.stats().busyRefusals()).isGreaterThanOrEqualTo(2);
        assertThat(sent3.count()).as("BUSY is not a failure").isZero();

        sender.releaseHold();
        waitUntil(() -> sent.count() == 1 && sent3.count() == 1, () -> "both reports: " + sender3.stats());
        assertThat(sent.list()).containsExactly(new Sent(2, 1, 10, true));
        assertThat(sent3.list()).containsExactly(new Sent(2, 3, 30, true));
        assertArrivedIntact(1, a);
        assertArrivedIntact(3, b);
        assertThat(receiver.stats().maxActiveReceives()).isEqualTo(1);
        assertThat(sender3.stats().attempts()).isEqualTo(sender3.stats().busyRetries() + 1);
    }

    @Test
    void aReceiverThatStopsAnsweringIsGivenUpAfterMaxAttempts() throws IOException {
        start(config(1).withChunking(SMALL_CHUNK, 2 * SMALL_CHUNK).withRetry(5, 20, 3), config(2));
        source.put(1, 10, 1, randomBytes(8, SMALL_CHUNK));
        receiver.close();
        sender.send(2, 1, 10, 1);
        waitUntil(() -> sent.count() == 1, () -> "the report");
        assertThat(sent.list()).containsExactly(new Sent(2, 1, 10, false));
        assertThat(sender.stats().attempts()).isEqualTo(3);
        assertThat(sender.stats().queuedSends()).isZero();
        assertThat(sender.stats().activeSends()).isZero();
    }
}
