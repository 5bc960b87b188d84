package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * The real file layer behind overridable hooks, for tests that observe or fail file operations:
 * subclasses override the file-system calls they care about and wrap files with
 * {@link DelegatingFile}. Any thread.
 */
class DelegatingWalFileSystem implements WalFileSystem {
    final NioWalFileSystem real = new NioWalFileSystem();

    /** A file that delegates everything; override {@link #write} or {@link #force} to observe them. */
    static class DelegatingFile implements WalFile {
        final WalFile f;

        DelegatingFile(WalFile f) {
            this.f = f;
        }

        @Override
        public Path path() {
            return f.path();
        }

        @Override
        public void write(ByteBuffer src, long positionBytes) throws IOException {
            f.write(src, positionBytes);
        }

        @Override
        public int read(ByteBuffer dst, long positionBytes) throws IOException {
            return f.read(dst, positionBytes);
        }

        @Override
        public void force() throws IOException {
            f.force();
        }

        @Override
        public long sizeBytes() throws IOException {
            return f.sizeBytes();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            f.truncate(sizeBytes);
        }

        @Override
        public void close() throws IOException {
            f.close();
        }
    }

    @Override
    public WalFile create(Path path) throws IOException {
        return real.create(path);
    }

    @Override
    public WalFile open(Path path) throws IOException {
        return real.open(path);
    }

    @Override
    public boolean exists(Path path) {
        return real.exists(path);
    }

    @Override
    public void createDirectories(Path directory) throws IOException {
        real.createDirectories(directory);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        real.rename(from, to);
    }

    @Override
    public void delete(Path path) throws IOException {
        real.delete(path);
    }

    @Override
    public List<String> list(Path directory) throws IOException {
        return real.list(directory);
    }

    @Override
    public void fsyncDirectory(Path directory) throws IOException {
        real.fsyncDirectory(directory);
    }

    @Override
    public WalDirectoryLock lock(Path directory) throws IOException {
        return real.lock(directory);
    }
}
