package io.flotilla.transport.snapshot;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where the receiving node stores incoming snapshot bytes; the engine implements it with files it
 * then ingests ({@link FileSnapshotSink} is the reference). Called only by the
 * {@link SnapshotReceiver}'s I/O thread (its retention sweeps included).
 *
 * <p>Life of a transfer: {@link #begin} → {@link Writer#write} (with {@link Writer#sync} after each
 * batch) → {@link Writer#finish} or {@link Writer#abort}; or {@link Writer#suspend} when the
 * connection breaks, and a later {@code begin} of the same key picks up the durable prefix — after a
 * broken connection, and (for a durable sink) after a restart of the node.
 */
public interface SnapshotSink {
    /**
     * Starts receiving {@code key}, or resumes it. A partial transfer of the same key and size kept
     * from earlier is reopened at its durable prefix (bytes written after the last {@code sync} are
     * dropped); one of another size is discarded. Partials of the same group under another key may
     * be discarded: only the newest snapshot of a group matters.
     *
     * @throws IOException if the sink cannot store data: the offer is refused with SINK_ERROR
     */
    Writer begin(SnapshotKey key, long totalBytes) throws IOException;

    /**
     * Bytes this sink holds that a transfer of {@code key} must fit beside, for
     * {@link SnapshotConfig#maxReceivedBytes}: finished snapshots and partial transfers that are not
     * open, except what {@link #begin} of {@code key} would reuse (its own partial) or discard, and
     * a finished snapshot of the same key (which finishing it replaces). Open transfers are not
     * counted: the receiver counts each at its full size.
     */
    long storedBytesBeside(SnapshotKey key) throws IOException;

    /**
     * Deletes every finished snapshot and every partial transfer that is not open whose group and
     * index {@code retention} does not {@link SnapshotRetention#needs need}. The receiver fails the
     * open transfers retention does not need first, so none is left open.
     *
     * @return what was deleted ({@code transfersAborted} is 0: the receiver counts those)
     * @throws IOException if the store cannot be listed or a deletion fails; what was deleted
     *                     before stays deleted, and the next sweep retries the rest
     */
    SnapshotRetention.Swept discardUnneeded(SnapshotRetention retention) throws IOException;

    /** One open transfer. Invariant: {@code durableBytes() <= bytesWritten() <= totalBytes}. */
    interface Writer {
        /** Bytes stored so far, from offset 0: where the next write starts. */
        long bytesWritten();

        /** The prefix that survives a crash: what the receiver acknowledges and resumes from. */
        long durableBytes();

        /** CRC32C of bytes 0 .. {@link #bytesWritten()} (the prefix recovered by {@code begin} included). */
        int checksum();

        /**
         * Appends {@code data} (its remaining bytes) at {@code offset}, which must be
         * {@link #bytesWritten()}. The buffer belongs to the receiver's frame: copy what you keep.
         */
        void write(long offset, ByteBuffer data) throws IOException;

        /** Makes every written byte durable; returns the new {@link #durableBytes()}. */
        long sync() throws IOException;

        /**
         * All {@code totalBytes} were written and their checksum verified equal to
         * {@code snapshotCrc32c}: make the snapshot durable and final (the file sink renames it into
         * place). The writer is closed after this.
         */
        void finish(int snapshotCrc32c) throws IOException;

        /** Discards the transfer and its data (a corrupt or refused snapshot). Never throws. */
        void abort();

        /**
         * The connection broke: sync what was written, release resources and keep the data for a
         * later {@link SnapshotSink#begin} of the same key. Never throws (a failed sync leaves a
         * shorter durable prefix, which is still correct).
         */
        void suspend();
    }
}
