package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * A {@link SnapshotSink} in memory, for tests: it plays a disk, so partial transfers outlive a
 * {@link SnapshotReceiver} (a "restart" is a new receiver over the same sink), and bytes written
 * but not synced are lost when a transfer is reopened. Writers are used on the receiver's I/O
 * thread; the query methods may be called from any thread.
 */
public final class InMemorySnapshotSink implements SnapshotSink {
    /** A finished snapshot. */
    public record Received(SnapshotKey key, byte[] bytes, int checksum) {
    }

    private static final class Partial {
        final SnapshotKey key;
        final long totalBytes;
        byte[] bytes;
        long durableBytes;

        Partial(SnapshotKey key, long totalBytes) {
            this.key = key;
            this.totalBytes = totalBytes;
            this.bytes = new byte[0];
        }
    }

    private final Map<SnapshotKey, Partial> partials = new ConcurrentHashMap<>();
    private final Map<Long, Received> received = new ConcurrentHashMap<>();
    private final Map<SnapshotKey, Boolean> open = new ConcurrentHashMap<>();

    /** The last snapshot finished for the group, or null. */
    public Received received(long groupId) {
        return received.get(groupId);
    }

    /** The durable prefix of a partial transfer, or -1 if there is none. */
    public long partialDurableBytes(SnapshotKey key) {
        Partial p = partials.get(key);
        return p == null ? -1 : p.durableBytes;
    }

    public int partialCount() {
        return partials.size();
    }

    /** Finished snapshots of other groups (a finish replaces the group's) and partials of other groups not open. */
    @Override
    public long storedBytesBeside(SnapshotKey key) {
        long total = 0;
        for (Received r : received.values()) {
            if (r.key().groupId() != key.groupId()) {
                total += r.bytes().length;
            }
        }
        for (Partial p : partials.values()) {
            if (p.key.groupId() != key.groupId() && !open.containsKey(p.key)) {
                total += p.durableBytes;
            }
        }
        return total;
    }

    @Override
    public SnapshotRetention.Swept discardUnneeded(SnapshotRetention retention) {
        int images = 0;
        int partialCount = 0;
        long freed = 0;
        for (Received r : received.values()) {
            if (!retention.needs(r.key().groupId(), r.key().index()) && received.remove(r.key().groupId(), r)) {
                images++;
                freed += r.bytes().length;
            }
        }
        for (Partial p : partials.values()) {
            if (!open.containsKey(p.key) && !retention.needs(p.key.groupId(), p.key.index())
                    && partials.remove(p.key, p)) {
                partialCount++;
                freed += p.durableBytes;
            }
        }
        return new SnapshotRetention.Swept(0, partialCount, images, freed);
    }

    @Override
    public Writer begin(SnapshotKey key, long totalBytes) throws IOException {
        if (totalBytes > Integer.MAX_VALUE - 8) {
            throw new IOException("an in-memory sink cannot hold a " + totalBytes + "-byte snapshot");
        }
        Check.state(open.putIfAbsent(key, Boolean.TRUE) == null, "%s is already open", key);
        partials.values().removeIf(p -> p.key.groupId() == key.groupId() && !p.key.equals(key)
                && !open.containsKey(p.key));
        Partial partial = partials.get(key);
        if (partial == null || partial.totalBytes != totalBytes) {
            partial = new Partial(key, totalBytes);
            partials.put(key, partial);
        }
        return new MemoryWriter(partial);
    }

    private final class MemoryWriter implements Writer {
        private final Partial partial;
        private final CRC32C crc = new CRC32C();
        private int written;
        private boolean closed;

        MemoryWriter(Partial partial) {
            this.partial = partial;
            // Reopening drops what was never synced, as a disk would after a crash.
            this.written = (int) partial.durableBytes;
            crc.update(partial.bytes, 0, written);
        }

        @Override
        public long bytesWritten() {
            return written;
        }

        @Override
        public long durableBytes() {
            return partial.durableBytes;
        }

        @Override
        public int checksum() {
            return (int) crc.getValue();
        }

        @Override
        public void write(long offset, ByteBuffer data) {
            Check.state(!closed, "%s: write after close", partial.key);
            Check.argument(offset == written, "write at %d, expected %d", offset, written);
            int n = data.remaining();
            Check.argument(written + (long) n <= partial.totalBytes, "write of %d at %d passes the total of %d bytes",
                    n, offset, partial.totalBytes);
            if (partial.bytes.length < written + n) {
                partial.bytes = Arrays.copyOf(partial.bytes,
                        (int) Math.min(partial.totalBytes, Math.max(written + n, 2L * partial.bytes.length)));
            }
            ByteBuffer view = data.duplicate();
            view.get(partial.bytes, written, n);
            crc.update(data.duplicate());
            written += n;
        }

        @Override
        public long sync() {
            partial.durableBytes = written;
            return written;
        }

        @Override
        public void finish(int snapshotCrc32c) {
            Check.state(!closed && written == partial.totalBytes, "%s: finish with %d of %d bytes",
                    partial.key, written, partial.totalBytes);
            closed = true;
            partials.remove(partial.key);
            open.remove(partial.key);
            received.put(partial.key.groupId(),
                    new Received(partial.key, Arrays.copyOf(partial.bytes, written), snapshotCrc32c));
        }

        @Override
        public void abort() {
            if (!closed) {
                closed = true;
                partials.remove(partial.key);
                open.remove(partial.key);
            }
        }

        @Override
        public void suspend() {
            if (!closed) {
                sync();
                closed = true;
                open.remove(partial.key);
            }
        }
    }
}
