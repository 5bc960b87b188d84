package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where the sending node's snapshot bytes come from; the engine implements it over the SST files of
 * a group's snapshot. Called only by the {@link SnapshotSender}'s I/O thread: {@link #open} and
 * every {@link Reader} method run there, so they must be local reads that do not wait on other
 * nodes or on Raft.
 */
public interface SnapshotSource {
    /**
     * Opens the snapshot of {@code groupId} taken at {@code index} / {@code term} for reading.
     *
     * @return null if this node no longer holds that snapshot (a newer one replaced it): the
     *         transfer is reported failed and Raft asks again with the current snapshot
     * @throws IOException if it exists but cannot be read
     */
    Reader open(long groupId, long index, long term) throws IOException;

    /** One open snapshot. Closed by the sender when its transfer ends, however it ends. */
    interface Reader extends AutoCloseable {
        long totalBytes();

        /** CRC32C of bytes 0 .. {@link #totalBytes()}, checked by the receiver after the last chunk. */
        int checksum();

        /**
         * Fills {@code dst} completely (its {@code remaining()} bytes, never past {@link #totalBytes()})
         * with the bytes starting at {@code offset}. Chunk {@code k} is {@code offset = k * chunkBytes}.
         * {@code dst} belongs to the sender's frame buffer: do not keep it.
         */
        void read(long offset, ByteBuffer dst) throws IOException;

        @Override
        void close();
    }

    /** A reader over {@code bytes} (not copied: do not change them), for images small enough to hold in memory. */
    static Reader ofBytes(byte[] bytes) {
        int checksum = InMemorySnapshotSource.crc32c(bytes);
        return new Reader() {
            @Override
            public long totalBytes() {
                return bytes.length;
            }

            @Override
            public int checksum() {
                return checksum;
            }

            @Override
            public void read(long offset, ByteBuffer dst) {
                Check.argument(offset >= 0 && offset + dst.remaining() <= bytes.length,
                        "read of %d bytes at %d is outside a %d-byte snapshot", dst.remaining(), offset, bytes.length);
                dst.put(bytes, (int) offset, dst.remaining());
            }

            @Override
            public void close() {
            }
        };
    }
}
