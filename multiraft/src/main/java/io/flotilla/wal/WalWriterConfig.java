package io.flotilla.wal;

import io.flotilla.raft.Check;

/**
 * Limits of the group-commit writer: immutable and validated, read by every thread of the log.
 *
 * @param queueCapacityBatches batches that may wait for the writer; a full queue makes
 *                             {@link WalWriter#submit} return false (back-pressure)
 * @param writeBufferBytes     the writer's reusable encode buffer; a group commit larger than this
 *                             takes several {@code write} calls (still one fsync). At least
 *                             {@link WalConfig#maxRecordBytes()}, checked when the writer opens
 * @param segmentsAhead        preallocated empty segments kept ready after the one being written
 */
public record WalWriterConfig(int queueCapacityBatches, int writeBufferBytes, int segmentsAhead) {
    public static final int DEFAULT_QUEUE_CAPACITY_BATCHES = 4096;
    public static final int DEFAULT_WRITE_BUFFER_BYTES = 4 << 20;
    public static final int DEFAULT_SEGMENTS_AHEAD = 1;
    /** More would only hold disk: one segment takes ~0.1 s to create, far less than filling a 64 MiB one. */
    public static final int MAX_SEGMENTS_AHEAD = 8;

    public WalWriterConfig {
        Check.argument(queueCapacityBatches >= 1 && queueCapacityBatches <= 1 << 20,
                "queueCapacityBatches %d must be in [1, %d]", queueCapacityBatches, 1 << 20);
        Check.argument(writeBufferBytes >= WalRecordFormat.MIN_MAX_RECORD_BYTES && writeBufferBytes % 8 == 0,
                "writeBufferBytes %d must be a multiple of 8 and at least %d", writeBufferBytes,
                WalRecordFormat.MIN_MAX_RECORD_BYTES);
        Check.argument(segmentsAhead >= 1 && segmentsAhead <= MAX_SEGMENTS_AHEAD,
                "segmentsAhead %d must be in [1, %d]", segmentsAhead, MAX_SEGMENTS_AHEAD);
    }

    /** Defaults for a log: a buffer of 4 MiB, or one largest record if that is bigger. */
    public static WalWriterConfig defaults(WalConfig config) {
        return new WalWriterConfig(DEFAULT_QUEUE_CAPACITY_BATCHES,
                Math.max(DEFAULT_WRITE_BUFFER_BYTES, config.maxRecordBytes()), DEFAULT_SEGMENTS_AHEAD);
    }
}
