package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Segment creation (temp name, zeros, force, rename, directory force) and header validation. */
class WalSegmentTest {
    @TempDir
    Path dir;

    private WalConfig config() {
        return new WalConfig(dir, 77, 3, 8192, 1024);
    }

    @Test
    void createWritesHeaderAndZerosUnderATempNameThenRenames() throws IOException {
        RecordingFileSystem fs = new RecordingFileSystem();
        Path p = new WalSegmentCreator(fs, config()).create(5);
        assertThat(p.getFileName().toString()).isEqualTo("0000000000000005.wal");
        assertThat(fs.calls).containsExactly(
                "create 0000000000000005.wal.tmp", "force 0000000000000005.wal.tmp",
                "rename 0000000000000005.wal.tmp 0000000000000005.wal", "fsyncDirectory");
        byte[] bytes = Files.readAllBytes(p);
        assertThat(bytes).hasSize(8192);
        for (int i = WalSegmentHeader.HEADER_BYTES; i < bytes.length; i++) {
            assertThat(bytes[i]).as("byte %d", i).isZero();
        }
        WalSegmentHeader h = decode(bytes, "0000000000000005.wal", config(), 5);
        assertThat(h).isEqualTo(new WalSegmentHeader(77, 3, 5, 8192));
        assertThat(new NioWalFileSystem().list(dir)).containsExactly("0000000000000005.wal");
    }

    @Test
    void anExistingSegmentIsNeverReplacedButALeftoverTempFileIs() throws IOException {
        NioWalFileSystem fs = new NioWalFileSystem();
        WalSegmentCreator creator = new WalSegmentCreator(fs, config());
        creator.create(1);
        assertThatThrownBy(() -> creator.create(1)).isInstanceOf(FileAlreadyExistsException.class);
        Files.write(dir.resolve("0000000000000002.wal.tmp"), new byte[] {1, 2, 3});
        creator.create(2);
        assertThat(fs.list(dir)).containsExactly("0000000000000001.wal", "0000000000000002.wal");
        assertThat(Files.size(dir.resolve("0000000000000002.wal"))).isEqualTo(8192);
    }

    @Test
    void headersOfAnotherFormatClusterOrNodeAreRefusedWithTypedErrors() throws IOException {
        byte[] good = Files.readAllBytes(new WalSegmentCreator(new NioWalFileSystem(), config()).create(9));
        String name = "0000000000000009.wal";

        byte[] magic = good.clone();
        magic[0] = 'X';
        assertThatThrownBy(() -> decode(magic, name, config(), 9))
                .isInstanceOf(WalCorruptionException.class).hasMessageContaining("bad segment magic")
                .hasMessageContaining(name + " at offset 0");

        byte[] version = good.clone();
        version[8] = 1; // a log written before SNAPSHOT_MARK carried the membership
        assertThatThrownBy(() -> decode(version, name, config(), 9))
                .isInstanceOf(WalIncompatibleException.class).hasMessageContaining("format version 1, this build reads only version 3");
        byte[] beforeSets = good.clone();
        beforeSets[8] = 2; // a log written before TOMBSTONE_SET records: its builds would cut one off as a torn tail
        assertThatThrownBy(() -> decode(beforeSets, name, config(), 9))
                .isInstanceOf(WalIncompatibleException.class).hasMessageContaining("format version 2, this build reads only version 3");

        WalConfig otherCluster = new WalConfig(dir, 78, 3, 8192, 1024);
        assertThatThrownBy(() -> decode(good, name, otherCluster, 9))
                .isInstanceOf(WalIncompatibleException.class)
                .hasMessageContaining("belongs to cluster 77, this node is configured for cluster 78");

        WalConfig otherNode = new WalConfig(dir, 77, 4, 8192, 1024);
        assertThatThrownBy(() -> decode(good, name, otherNode, 9))
                .isInstanceOf(WalIncompatibleException.class).hasMessageContaining("belongs to node 3");

        assertThatThrownBy(() -> decode(good, "0000000000000008.wal", config(), 8))
                .isInstanceOf(WalCorruptionException.class).hasMessageContaining("sequence 9 does not match");

        for (int bit = 16 * 8; bit < WalSegmentHeader.HEADER_BYTES * 8; bit++) {
            byte[] flipped = good.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertThatThrownBy(() -> decode(flipped, name, config(), 9)).as("bit %d", bit)
                    .isInstanceOf(WalCorruptionException.class);
        }

        ByteBuffer shortFile = ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN);
        assertThatThrownBy(() -> WalSegmentHeader.decode(shortFile, name, 4096, config(), 9))
                .isInstanceOf(WalCorruptionException.class).hasMessageContaining("file is 4096");
    }

    @Test
    void segmentNamesRoundTripAndForeignNamesAreIgnored() {
        assertThat(WalSegmentNames.parseSequence(WalSegmentNames.fileName(0x1234abcdL))).isEqualTo(0x1234abcdL);
        assertThat(WalSegmentNames.parseTempSequence(WalSegmentNames.tempFileName(7))).isEqualTo(7);
        assertThat(WalSegmentNames.parseSequence("0000000000000007.wal.tmp")).isEqualTo(-1);
        assertThat(WalSegmentNames.parseSequence("000000000000000G.wal")).isEqualTo(-1);
        assertThat(WalSegmentNames.parseSequence("000000000000000A.wal")).isEqualTo(-1);
        assertThat(WalSegmentNames.parseSequence("7.wal")).isEqualTo(-1);
        assertThat(WalSegmentNames.parseSequence("LOCK")).isEqualTo(-1);
        assertThat(WalSegmentNames.parseSequence("ffffffffffffffff.wal")).isEqualTo(-1);
    }

    @Test
    void configRefusesRecordsThatCannotFitASegment() {
        assertThatThrownBy(() -> new WalConfig(dir, 1, 1, 4096, 4096))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must fit in a segment");
        assertThatThrownBy(() -> new WalConfig(dir, 1, 0, 4096, 1024))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("nodeId");
        assertThat(WalConfig.of(dir, 1, 1).segmentBytes()).isEqualTo(64 << 20);
    }

    private static WalSegmentHeader decode(byte[] file, String name, WalConfig config, long sequence) throws IOException {
        return WalSegmentHeader.decode(ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN), name, file.length, config, sequence);
    }

    /** Delegates to the real file layer and records the calls that matter for crash safety. */
    static final class RecordingFileSystem extends DelegatingWalFileSystem {
        final List<String> calls = new ArrayList<>();

        @Override
        public WalFile create(Path path) throws IOException {
            calls.add("create " + path.getFileName());
            return new DelegatingFile(real.create(path)) {
                @Override
                public void force() throws IOException {
                    calls.add("force " + path.getFileName());
                    f.force();
                }
            };
        }

        @Override
        public void rename(Path from, Path to) throws IOException {
            calls.add("rename " + from.getFileName() + " " + to.getFileName());
            real.rename(from, to);
        }

        @Override
        public void delete(Path path) throws IOException {
            calls.add("delete " + path.getFileName());
            real.delete(path);
        }

        @Override
        public void fsyncDirectory(Path directory) throws IOException {
            calls.add("fsyncDirectory");
            real.fsyncDirectory(directory);
        }
    }
}
