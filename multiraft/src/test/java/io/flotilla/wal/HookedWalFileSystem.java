package io.flotilla.wal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The real file layer with named fault points on segment files opened for appending (the writer's
 * files; creation goes through {@link #create} on temp names and is left alone unless a create hook
 * is set). Records the order of writes and forces. Any thread; the hooks run on the calling thread.
 */
final class HookedWalFileSystem implements WalFileSystem {
    /** Runs before the n-th (1-based) force of an opened segment; may block or throw. */
    interface ForceHook {
        void beforeForce(int n, Path path) throws IOException;
    }

    /** Runs before the n-th (1-based) write to an opened segment; may throw. */
    interface WriteHook {
        void beforeWrite(int n, Path path, long positionBytes) throws IOException;
    }

    /** Runs before a file is created; may throw. */
    interface CreateHook {
        void beforeCreate(Path path) throws IOException;
    }

    private final NioWalFileSystem real = new NioWalFileSystem();
    final AtomicInteger segmentForces = new AtomicInteger();
    final AtomicInteger segmentWrites = new AtomicInteger();
    /** "write <file>" and "force <file>" for opened segment files, in call order. */
    final List<String> events = Collections.synchronizedList(new ArrayList<>());
    volatile ForceHook forceHook = (n, p) -> { };
    volatile WriteHook writeHook = (n, p, pos) -> { };
    volatile CreateHook createHook = p -> { };

    @Override
    public WalFile create(Path path) throws IOException {
        createHook.beforeCreate(path);
        return real.create(path);
    }

    @Override
    public WalFile open(Path path) throws IOException {
        WalFile f = real.open(path);
        String name = path.getFileName().toString();
        return new WalFile() {
            @Override
            public Path path() {
                return f.path();
            }

            @Override
            public void write(ByteBuffer src, long positionBytes) throws IOException {
                writeHook.beforeWrite(segmentWrites.incrementAndGet(), path, positionBytes);
                events.add("write " + name);
                f.write(src, positionBytes);
            }

            @Override
            public int read(ByteBuffer dst, long positionBytes) throws IOException {
                return f.read(dst, positionBytes);
            }

            @Override
            public void force() throws IOException {
                forceHook.beforeForce(segmentForces.incrementAndGet(), path);
                events.add("force " + name);
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
        };
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
