package io.flotilla.transport.snapshot;

import static io.flotilla.transport.snapshot.SnapshotTestSupport.randomBytes;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file sink's durable prefix: what survives a crash (no suspend, no close) and what does not. */
class FileSnapshotSinkTest {
    private static final SnapshotKey KEY = new SnapshotKey(1, 9, 100, 2);

    @TempDir
    Path dir;

    private static void write(SnapshotSink.Writer w, byte[] data, int from, int to) throws IOException {
        w.write(from, ByteBuffer.wrap(data, from, to - from));
    }

    private long fileCount() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.count();
        }
    }

    @Test
    void aCrashKeepsExactlyTheSyncedPrefix() throws IOException {
        byte[] data = randomBytes(1, 10_000);
        SnapshotSink.Writer w = new FileSnapshotSink(dir).begin(KEY, data.length);
        assertThat(w.durableBytes()).isZero();
        write(w, data, 0, 4_000);
        assertThat(w.sync()).isEqualTo(4_000);
        write(w, data, 4_000, 7_000);
        // Crash: the writer is abandoned; a new sink (a restarted node) opens the same directory.
        SnapshotSink.Writer reopened = new FileSnapshotSink(dir).begin(KEY, data.length);
        assertThat(reopened.durableBytes()).isEqualTo(4_000);
        assertThat(reopened.bytesWritten()).isEqualTo(4_000);
        write(reopened, data, 4_000, data.length);
        assertThat(reopened.checksum()).isEqualTo(InMemorySnapshotSource.crc32c(data));
        reopened.finish(reopened.checksum());
        FileSnapshotSink sink = new FileSnapshotSink(dir);
        assertThat(Files.readAllBytes(sink.snapshotFile(9, 100, 2))).isEqualTo(data);
        assertThat(fileCount()).as("only the finished snapshot").isEqualTo(1);
    }

    @Test
    void aTornProgressSlotFallsBackToTheOtherOne() throws IOException {
        byte[] data = randomBytes(2, 9_000);
        FileSnapshotSink sink = new FileSnapshotSink(dir);
        SnapshotSink.Writer w = sink.begin(KEY, data.length);
        write(w, data, 0, 3_000);
        w.sync();
        write(w, data, 3_000, 6_000);
        w.sync();
        // Slots alternate (0: begin, 1: first sync, 0: second sync). Slot 0 is torn; slot 1 still names 3,000 bytes.
        try (FileChannel progress = FileChannel.open(sink.progressFile(KEY), StandardOpenOption.WRITE)) {
            progress.write(ByteBuffer.wrap(new byte[] {(byte) 0xEE, (byte) 0xEE}), 14);
        }
        SnapshotSink.Writer reopened = new FileSnapshotSink(dir).begin(KEY, data.length);
        assertThat(reopened.durableBytes()).isEqualTo(3_000);
        assertThat(Files.size(sink.dataFile(KEY))).as("the tail past it is truncated").isEqualTo(3_000);
    }

    @Test
    void aDamagedPrefixOrAnotherSizeStartsOver() throws IOException {
        byte[] data = randomBytes(3, 5_000);
        FileSnapshotSink sink = new FileSnapshotSink(dir);
        SnapshotSink.Writer w = sink.begin(KEY, data.length);
        write(w, data, 0, 2_000);
        w.suspend();
        try (FileChannel file = FileChannel.open(sink.dataFile(KEY), StandardOpenOption.WRITE)) {
            file.write(ByteBuffer.wrap(new byte[] {1}), 10);
        }
        SnapshotSink.Writer reopened = new FileSnapshotSink(dir).begin(KEY, data.length);
        assertThat(reopened.durableBytes()).as("the prefix no longer matches its CRC").isZero();
        write(reopened, data, 0, 1_000);
        reopened.suspend();
        SnapshotSink.Writer otherSize = new FileSnapshotSink(dir).begin(KEY, data.length + 1);
        assertThat(otherSize.durableBytes()).isZero();
    }

    @Test
    void abortDeletesAndANewerSnapshotOfTheGroupDiscardsOlderPartials() throws IOException {
        FileSnapshotSink sink = new FileSnapshotSink(dir);
        SnapshotSink.Writer w = sink.begin(KEY, 100);
        write(w, new byte[100], 0, 50);
        w.suspend();
        SnapshotSink.Writer other = sink.begin(new SnapshotKey(3, 4, 1, 1), 10);
        other.suspend();
        assertThat(fileCount()).isEqualTo(4);
        SnapshotKey newer = new SnapshotKey(1, 9, 200, 2);
        SnapshotSink.Writer n = sink.begin(newer, 10);
        assertThat(Files.exists(sink.dataFile(KEY))).as("group 9's older partial is gone").isFalse();
        assertThat(Files.exists(sink.dataFile(new SnapshotKey(3, 4, 1, 1)))).as("group 4's partial stays").isTrue();
        n.abort();
        assertThat(Files.exists(sink.dataFile(newer))).isFalse();
        assertThat(Files.exists(sink.progressFile(newer))).isFalse();
        assertThat(fileCount()).isEqualTo(2);
    }

    @Test
    void storedBytesAndSweepsLeaveOpenTransfersToTheReceiver() throws IOException {
        FileSnapshotSink sink = new FileSnapshotSink(dir);
        byte[] data = randomBytes(3, 5_000);
        SnapshotSink.Writer finished = sink.begin(new SnapshotKey(1, 7, 10, 1), data.length);
        write(finished, data, 0, data.length);
        finished.finish(finished.checksum());
        SnapshotSink.Writer suspended = sink.begin(new SnapshotKey(1, 8, 20, 1), data.length);
        write(suspended, data, 0, 2_000);
        suspended.suspend();
        SnapshotSink.Writer open = sink.begin(KEY, data.length);
        write(open, data, 0, 3_000);
        open.sync();
        long suspendedBytes = Files.size(dir.resolve("partial-g8-i20-t1-n1.data"))
                + Files.size(dir.resolve("partial-g8-i20-t1-n1.progress"));

        assertThat(sink.storedBytesBeside(new SnapshotKey(1, 50, 1, 1))).as("finished + suspended; the open one is"
                + " the receiver's to count").isEqualTo(data.length + suspendedBytes);
        assertThat(sink.storedBytesBeside(new SnapshotKey(3, 8, 30, 1))).as("begin of group 8 discards its partial")
                .isEqualTo(data.length);
        assertThat(sink.storedBytesBeside(new SnapshotKey(1, 7, 10, 1))).as("finishing it replaces the file")
                .isEqualTo(suspendedBytes);

        SnapshotRetention.Swept swept = sink.discardUnneeded(SnapshotRetention.builder(group -> true).build());
        assertThat(swept).isEqualTo(new SnapshotRetention.Swept(0, 1, 1, data.length + suspendedBytes));
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).sorted())
                    .containsExactly("partial-g9-i100-t2-n1.data", "partial-g9-i100-t2-n1.progress");
        }
        write(open, data, 3_000, data.length);
        open.finish(InMemorySnapshotSource.crc32c(data));
        assertThat(Files.readAllBytes(sink.snapshotFile(9, 100, 2))).isEqualTo(data);
    }
}
