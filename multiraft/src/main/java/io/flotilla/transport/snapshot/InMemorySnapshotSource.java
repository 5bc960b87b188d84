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

    private final Map<Id, byte[]> snapshots = new ConcurrentHashMap<>();

    /** Holds {@code bytes} (not copied: do not change them) as the snapshot of the group at index / term. */
    public void put(long groupId, long index, long term, byte[] bytes) {
        snapshots.put(new Id(groupId, index, term), bytes);
    }

    public void remove(long groupId, long index, long term) {
        snapshots.remove(new Id(groupId, index, term));
    }

    @Override
    public Reader open(long groupId, long index, long term) {
        byte[] stored = snapshots.get(new Id(groupId, index, term));
        return stored == null ? null : SnapshotSource.ofBytes(stored);
    }

    public static int crc32c(byte[] bytes) {
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length);
        return (int) crc.getValue();
    }
}
