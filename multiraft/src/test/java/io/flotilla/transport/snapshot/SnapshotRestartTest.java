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
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A receiver restarted mid-transfer over the same directory resumes from the prefix its file sink made durable. */
class SnapshotRestartTest {
    private static final int CHUNK = 8 << 10;

    @TempDir
    Path dir;

    @Test
    void aRestartedReceiverResumesFromItsDurablePrefix() throws IOException {
        InMemorySnapshotSource source = new InMemorySnapshotSource();
        byte[] data = randomBytes(11, 16 * CHUNK + 5);
        source.put(4, 700, 9, data);
        SnapshotFailpoints failpoints = new SnapshotFailpoints();
        failpoints.holdAtOffset = 6L * CHUNK;
        SentRecorder sent = new SentRecorder();
        ReceivedRecorder received1 = new ReceivedRecorder();
        ReceivedRecorder received2 = new ReceivedRecorder();
        SnapshotConfig receiverConfig = config(2).withChunking(CHUNK, 2L * CHUNK);

        try (SnapshotSender sender = SnapshotSender.start(config(1).withChunking(CHUNK, 2L * CHUNK), source, sent,
                failpoints)) {
            SnapshotReceiver first = SnapshotReceiver.start(receiverConfig, new FileSnapshotSink(dir), received1,
                    PEERS_OF_2);
            try {
                sender.addPeer(2, first.localAddress());
                sender.send(2, 4, 700, 9);
                waitUntil(() -> first.stats().bytesAcked() == 6L * CHUNK, () -> "six chunks durable: " + first.stats());
                assertThat(Files.size(dir.resolve("partial-g4-i700-t9-n1.data"))).isEqualTo(6L * CHUNK);
            } finally {
                try (SnapshotReceiver second = SnapshotReceiver.start(receiverConfig, new FileSnapshotSink(dir),
                        received2, PEERS_OF_2)) {
                    // The restarted node comes back at another port; the sender's next dial goes there.
                    sender.addPeer(2, second.localAddress());
                    first.close();
                    sender.releaseHold();
                    waitUntil(() -> sent.count() == 1, () -> "the report: " + sender.stats() + " " + second.stats());

                    assertThat(sent.list()).containsExactly(new Sent(2, 4, 700, true));
                    assertThat(received1.count()).isZero();
                    assertThat(received2.list()).containsExactly(new Received(4, 700, 9));
                    assertThat(second.stats().chunkBytesReceived()).as("only the rest crossed the new connection")
                            .isEqualTo(data.length - 6L * CHUNK);
                }
            }
            Path snapshot = new FileSnapshotSink(dir).snapshotFile(4, 700, 9);
            assertThat(Files.readAllBytes(snapshot)).isEqualTo(data);
            try (Stream<Path> files = Files.list(dir)) {
                assertThat(files.map(p -> p.getFileName().toString())).containsExactly(snapshot.getFileName().toString());
            }
            SnapshotStats out = sender.stats();
            assertThat(out.resumes()).isEqualTo(1);
            assertThat(out.resumedBytes()).isEqualTo(6L * CHUNK);
            assertThat(out.chunkBytesSent() - data.length).as("bytes sent twice").isLessThan(data.length).isZero();
        }
    }
}
