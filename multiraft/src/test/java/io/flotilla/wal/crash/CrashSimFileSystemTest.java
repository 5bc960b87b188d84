package io.flotilla.wal.crash;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flotilla.wal.WalFile;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The durability model of {@link CrashSimFileSystem}: unsynced bytes and directory entries do not
 * survive a crash, forced ones do, torn writes stop at sector or page boundaries, images are
 * deterministic. The crash test's verdicts are only as good as this model.
 */
class CrashSimFileSystemTest {
    private static final Path DIR = Path.of("/sim/d");
    private static final Path A = DIR.resolve("a");
    private static final Path B = DIR.resolve("b");

    private final CrashSimFileSystem fs = new CrashSimFileSystem(CrashSimFileSystem.Fault.NONE, 42);

    CrashSimFileSystemTest() {
        fs.createDirectories(DIR);
    }

    @Test
    void aFileIsInACrashImageOnlyOnceItsDirectoryWasFsynced() throws IOException {
        fs.create(A).close();
        int created = fs.boundaries();
        fs.fsyncDirectory(DIR);
        for (CrashMode mode : CrashMode.values()) {
            assertThat(fs.crashImage(created, mode).exists(A)).as("%s before the directory fsync", mode).isFalse();
            assertThat(fs.crashImage(created + 1, mode).exists(A)).as("%s after it", mode).isTrue();
        }
    }

    @Test
    void aRenameOrDeleteWithoutDirectoryFsyncIsUndoneByACrash() throws IOException {
        fs.create(A).close();
        fs.fsyncDirectory(DIR);
        fs.rename(A, B);
        CrashSimFileSystem renamed = fs.crashImage(fs.boundaries(), CrashMode.KEEP_UNSYNCED);
        assertThat(renamed.exists(A)).isTrue();
        assertThat(renamed.exists(B)).isFalse();
        fs.fsyncDirectory(DIR);
        fs.delete(B);
        assertThat(fs.crashImage(fs.boundaries(), CrashMode.KEEP_UNSYNCED).list(DIR)).containsExactly("b");
        fs.fsyncDirectory(DIR);
        assertThat(fs.crashImage(fs.boundaries(), CrashMode.KEEP_UNSYNCED).list(DIR)).isEmpty();
        assertThatThrownBy(() -> fs.rename(A, B)).isInstanceOf(IOException.class);
    }

    @Test
    void unsyncedBytesSurviveOnlyAsTheModeSays() throws IOException {
        WalFile f = fs.create(A);
        fs.fsyncDirectory(DIR);
        f.write(ByteBuffer.wrap(filled(8192, 1)), 0);
        f.force();
        int forced = fs.boundaries();
        f.write(ByteBuffer.wrap(filled(100, 2)), 8192);
        f.write(ByteBuffer.wrap(filled(10_000, 3)), 100);
        int written = fs.boundaries();
        f.close();

        assertThat(read(fs.crashImage(forced, CrashMode.KEEP_UNSYNCED))).isEqualTo(filled(8192, 1));
        byte[] lost = read(fs.crashImage(written, CrashMode.LOSE_UNSYNCED));
        assertThat(lost).isEqualTo(filled(8192, 1));

        byte[] all = read(fs.crashImage(written, CrashMode.KEEP_UNSYNCED));
        assertThat(all).hasSize(10_100);
        assertThat(all[99]).isEqualTo((byte) 1);
        assertThat(all[100]).isEqualTo((byte) 3);

        for (CrashMode mode : new CrashMode[] {CrashMode.TORN_512, CrashMode.TORN_4096}) {
            byte[] torn = read(fs.crashImage(written, mode));
            // The earlier unsynced write survives; the last one [100, 10100) stops at a multiple of the tear size.
            assertThat(torn.length).as("%s", mode).isGreaterThanOrEqualTo(8192 + 100);
            int end = 100;
            while (end < 10_100 && torn.length > end && torn[end] == 3) {
                end++;
            }
            assertThat(end % mode.tearBytes).as("%s keeps the last write up to a boundary", mode).isZero();
            assertThat(end).as("%s tears inside the last write", mode).isBetween(101, 10_099);
            byte[] again = read(fs.crashImage(written, mode));
            assertThat(again).as("%s is deterministic", mode).isEqualTo(torn);
        }
    }

    @Test
    void aSkippedForceOrDirectoryFsyncMakesNothingDurable() throws IOException {
        CrashSimFileSystem broken = new CrashSimFileSystem(CrashSimFileSystem.Fault.DROP_DIRECTORY_FSYNC, 1);
        broken.createDirectories(DIR);
        broken.create(A).close();
        broken.fsyncDirectory(DIR);
        assertThat(broken.crashImage(broken.boundaries(), CrashMode.KEEP_UNSYNCED).exists(A)).isFalse();

        CrashSimFileSystem noForce = new CrashSimFileSystem(CrashSimFileSystem.Fault.SKIP_OPENED_FILE_FORCE, 1);
        noForce.createDirectories(DIR);
        noForce.create(A).close();
        noForce.fsyncDirectory(DIR);
        try (WalFile f = noForce.open(A)) {
            f.write(ByteBuffer.wrap(filled(64, 5)), 0);
            f.force();
        }
        assertThat(read(noForce.crashImage(noForce.boundaries(), CrashMode.LOSE_UNSYNCED))).isEmpty();
    }

    @Test
    void creatingAnExistingFileFails() throws IOException {
        fs.create(A).close();
        assertThatThrownBy(() -> fs.create(A)).isInstanceOf(FileAlreadyExistsException.class);
    }

    private static byte[] read(CrashSimFileSystem image) throws IOException {
        try (WalFile f = image.open(A)) {
            ByteBuffer buf = ByteBuffer.allocate((int) f.sizeBytes());
            f.read(buf, 0);
            return buf.array();
        }
    }

    private static byte[] filled(int n, int value) {
        byte[] b = new byte[n];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
