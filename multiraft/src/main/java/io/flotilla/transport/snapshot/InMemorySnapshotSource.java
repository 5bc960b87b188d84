package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.CRC32C;

/**
 * A {@link SnapshotSource} over byte arrays, for tests and benchmarks. {@link #put} and
 * {@link #remove} may be called from any thread; readers run on the sender's I/O thread.
 */
public final class InMemorySnapshotSource implements SnapshotSource {
    private record Id(long groupId, long index, long term) {
    }

    private record Stored(byte[] bytes, int checksum) {
    }

    private final Map<Id, Stored> snapshots = new ConcurrentHashMap<>();

    /** Holds {@code bytes} (not copied: do not change them) as the snapshot of the group at index / term. */
    public void put(long groupId, long index, long term, byte[] bytes) {
        snapshots.put(new Id(groupId, index, term), new Stored(bytes, crc32c(bytes)));
    }

    public void remove(long groupId, long index, long term) {
        snapshots.remove(new Id(groupId, index, term));
    }

    @Override
    public Reader open(long groupId, long index, long term) {
        Stored stored = snapshots.get(new Id(groupId, index, term));
        if (stored == null) {
            return null;
        }
        return new Reader() {
            @Override
            public long totalBytes() {
                return stored.bytes.length;
            }

            @Override
            public int checksum() {
                return stored.checksum;
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                Check.argument(offset >= 0 && offset + dst.remaining() <= stored.bytes.length,
                        "read of %d bytes at %d is outside a %d-byte snapshot", dst.remaining(), offset,
                        stored.bytes.length);
                dst.put(stored.bytes, (int) offset, dst.remaining());
            }

            @Override
            public void close() {
            }
        };
    }

    public static int crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length);
        return (int) crc.getValue();
    }
}
