package io.flotilla.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The real file layer: positional IO, rename without replacing, and the directory lock. */
class NioWalFileSystemTest {
    private final NioWalFileSystem fs = new NioWalFileSystem();

    @TempDir
    Path dir;

    @Test
    void positionalWritesAndReadsRoundTrip() throws IOException {
        Path p = dir.resolve("a");
        try (WalFile f = fs.create(p)) {
            f.write(ByteBuffer.wrap("hello".getBytes(StandardCharsets.US_ASCII)), 10);
            f.force();
            assertThat(f.sizeBytes()).isEqualTo(15);
            ByteBuffer dst = ByteBuffer.allocate(20);
            assertThat(f.read(dst, 8)).isEqualTo(7);
            assertThat(dst.array()[2]).isEqualTo((byte) 'h');
            assertThat(f.read(ByteBuffer.allocate(4), 100)).isZero();
            f.truncate(12);
            assertThat(f.sizeBytes()).isEqualTo(12);
        }
        assertThatThrownBy(() -> fs.create(p)).isInstanceOf(FileAlreadyExistsException.class);
    }

    @Test
    void renameNeverReplacesAndListIsSorted() throws IOException {
        fs.create(dir.resolve("b")).close();
        fs.create(dir.resolve("a")).close();
        fs.create(dir.resolve("c.tmp")).close();
        assertThatThrownBy(() -> fs.rename(dir.resolve("c.tmp"), dir.resolve("a")))
                .isInstanceOf(FileAlreadyExistsException.class);
        fs.rename(dir.resolve("c.tmp"), dir.resolve("c"));
        fs.fsyncDirectory(dir);
        fs.delete(dir.resolve("b"));
        assertThat(fs.list(dir)).containsExactly("a", "c");
        assertThat(fs.exists(dir.resolve("c.tmp"))).isFalse();
    }

    @Test
    void aSecondOpenerInThisProcessIsRefusedUntilTheFirstCloses() throws IOException {
        WalDirectoryLock first = fs.lock(dir);
        assertThatThrownBy(() -> fs.lock(dir))
                .isInstanceOf(WalLockedException.class)
                .hasMessageContaining(dir.toString())
                .hasMessageContaining("another log instance in this process");
        // The same directory reached through another path is still the same directory.
        assertThatThrownBy(() -> fs.lock(dir.resolve(".")))
                .isInstanceOf(WalLockedException.class);
        first.close();
        try (WalDirectoryLock again = fs.lock(dir)) {
            assertThat(again.directory()).isEqualTo(dir);
        }
    }

    @Test
    void anotherProcessHoldingTheLockIsRefused() throws Exception {
        Process holder = new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                LockHolderMain.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(holder.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).isEqualTo("locked");
            assertThatThrownBy(() -> fs.lock(dir))
                    .isInstanceOf(WalLockedException.class)
                    .hasMessageContaining("another process");
            // Our failed attempt must not have dropped the other process's lock: a second try fails too.
            assertThatThrownBy(() -> fs.lock(dir)).isInstanceOf(WalLockedException.class);
            holder.getOutputStream().close();
            assertThat(holder.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(holder.exitValue()).isZero();
        } finally {
            holder.destroyForcibly();
        }
        try (WalDirectoryLock mine = fs.lock(dir)) {
            assertThat(Files.exists(dir.resolve(NioWalFileSystem.LOCK_FILE_NAME))).isTrue();
        }
    }

    /** Child process for the cross-process test: locks the directory, says so, holds it until stdin closes. */
    public static final class LockHolderMain {
        public static void main(String[] args) throws IOException {
            try (WalDirectoryLock lock = new NioWalFileSystem().lock(Path.of(args[0]))) {
                System.out.println("locked");
                System.out.flush();
                while (System.in.read() >= 0) {
                    // Hold the lock until the parent closes our stdin.
                }
            }
        }
    }
}
