package io.flotilla.transport.snapshot;

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
}
