package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * The real file layer, on {@link FileChannel}. Stateless apart from the set of directories this JVM
 * has locked, so any thread may call it.
 */
public final class NioWalFileSystem implements WalFileSystem {
    /** Name of the file in a log directory that carries the exclusive lock. */
    public static final String LOCK_FILE_NAME = "LOCK";

    /**
     * Directories locked by this JVM. Needed because the OS lock is per process: a second opener in
     * the same JVM would otherwise open a channel on LOCK, fail, and on closing that channel drop the
     * first opener's lock (POSIX record locks are released when any descriptor of the file closes).
     */
    private static final Set<Path> LOCKED_IN_THIS_JVM = ConcurrentHashMap.newKeySet();

    @Override
    public WalFile create(Path path) throws IOException {
        return new NioWalFile(path, FileChannel.open(path,
                StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE));
    }

    @Override
    public WalFile open(Path path) throws IOException {
        return new NioWalFile(path, FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
    }

    @Override
    public boolean exists(Path path) {
        return Files.exists(path);
    }

    @Override
    public void createDirectories(Path directory) throws IOException {
        Files.createDirectories(directory);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        // ATOMIC_MOVE may silently replace an existing target on POSIX; the log must never lose a segment that way.
        if (Files.exists(to)) {
            throw new FileAlreadyExistsException(to.toString(), from.toString(), "rename target exists");
        }
        Files.move(from, to, StandardCopyOption.ATOMIC_MOVE);
    }

    @Override
    public void delete(Path path) throws IOException {
        Files.delete(path);
    }

    @Override
    public List<String> list(Path directory) throws IOException {
        List<String> names = new ArrayList<>();
        try (Stream<Path> entries = Files.list(directory)) {
            entries.forEach(p -> names.add(p.getFileName().toString()));
        }
        names.sort(null);
        return names;
    }

    @Override
    public void fsyncDirectory(Path directory) throws IOException {
        // Linux lets a directory be opened read-only and forced; that is how a rename or creation becomes durable.
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    @Override
    public WalDirectoryLock lock(Path directory) throws IOException {
        Path key = directory.toRealPath();
        if (!LOCKED_IN_THIS_JVM.add(key)) {
            throw new WalLockedException(directory, "another log instance in this process");
        }
        FileChannel channel = null;
        try {
            channel = FileChannel.open(key.resolve(LOCK_FILE_NAME), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock lock;
            try {
                lock = channel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new WalLockedException(directory, "another process");
            }
            return new NioDirectoryLock(directory, key, channel, lock);
        } catch (IOException | RuntimeException e) {
            LOCKED_IN_THIS_JVM.remove(key);
            if (channel != null) {
                try {
                    channel.close();
                } catch (IOException closeError) {
                    e.addSuppressed(closeError);
                }
            }
            throw e;
        }
    }

    /** A {@link FileChannel}-backed file; owned by one thread at a time (see {@link WalFile}). */
    private static final class NioWalFile implements WalFile {
        private final Path path;
        private final FileChannel channel;

        NioWalFile(Path path, FileChannel channel) {
            this.path = path;
            this.channel = channel;
        }

        @Override
        public Path path() {
            return path;
        }

        @Override
        public void write(ByteBuffer src, long positionBytes) throws IOException {
            long position = positionBytes;
            while (src.hasRemaining()) {
                position += channel.write(src, position);
            }
        }

        @Override
        public int read(ByteBuffer dst, long positionBytes) throws IOException {
            int total = 0;
            while (dst.hasRemaining()) {
                int n = channel.read(dst, positionBytes + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
            return total;
        }

        @Override
        public void force() throws IOException {
            channel.force(false);
        }

        @Override
        public long sizeBytes() throws IOException {
            return channel.size();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            channel.truncate(sizeBytes);
        }

        @Override
        public void close() throws IOException {
            channel.close();
        }
    }

    /** The OS lock on a directory's LOCK file; owned by the thread that opened the log. */
    private static final class NioDirectoryLock implements WalDirectoryLock {
        private final Path directory;
        private final Path key;
        private final FileChannel channel;
        private final FileLock lock;
        private boolean closed;

        NioDirectoryLock(Path directory, Path key, FileChannel channel, FileLock lock) {
            this.directory = directory;
            this.key = key;
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public Path directory() {
            return directory;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            try {
                lock.release();
                channel.close();
            } finally {
                LOCKED_IN_THIS_JVM.remove(key);
            }
        }
    }
}
