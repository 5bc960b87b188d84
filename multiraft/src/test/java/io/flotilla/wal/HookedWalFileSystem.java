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
final class HookedWalFileSystem extends DelegatingWalFileSystem {
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
        String name = path.getFileName().toString();
        return new DelegatingFile(real.open(path)) {
            @Override
            public void write(ByteBuffer src, long positionBytes) throws IOException {
                writeHook.beforeWrite(segmentWrites.incrementAndGet(), path, positionBytes);
                events.add("write " + name);
                f.write(src, positionBytes);
            }

            @Override
            public void force() throws IOException {
                forceHook.beforeForce(segmentForces.incrementAndGet(), path);
                events.add("force " + name);
                f.force();
            }
        };
    }
}
