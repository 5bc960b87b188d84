package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.nio.file.Path;

/**
 * Where the log lives and its limits: immutable and validated, shared by every thread of the log.
 *
 * @param directory       the log directory (one per node)
 * @param clusterId       written into every segment header; a segment of another cluster is refused
 * @param nodeId          this node's id (> 0); a segment of another node is refused
 * @param segmentBytes    size of each preallocated segment file, header included
 * @param maxRecordBytes  largest record, header and padding included; bounds every length read back
 */
public record WalConfig(Path directory, long clusterId, long nodeId, int segmentBytes, int maxRecordBytes) {
    public static final int DEFAULT_SEGMENT_BYTES = 64 << 20;
    public static final int DEFAULT_MAX_RECORD_BYTES = 16 << 20;
    /** Segments are at least one page, so tests can use tiny ones and real ones stay page-aligned. */
    public static final int MIN_SEGMENT_BYTES = 4096;
    public static final int MAX_SEGMENT_BYTES = 1 << 30;

    public WalConfig {
        Check.argument(directory != null, "the log directory is required");
        Check.argument(nodeId > 0, "nodeId must be positive, was %d", nodeId);
        Check.argument(segmentBytes >= MIN_SEGMENT_BYTES && segmentBytes <= MAX_SEGMENT_BYTES && segmentBytes % 4096 == 0,
                "segmentBytes %d must be a multiple of 4096 in [%d, %d]", segmentBytes, MIN_SEGMENT_BYTES, MAX_SEGMENT_BYTES);
        Check.argument(maxRecordBytes >= WalRecordFormat.MIN_MAX_RECORD_BYTES && maxRecordBytes % 8 == 0,
                "maxRecordBytes %d must be a multiple of 8 and at least %d", maxRecordBytes, WalRecordFormat.MIN_MAX_RECORD_BYTES);
        Check.argument(maxRecordBytes <= segmentBytes - WalSegmentHeader.HEADER_BYTES,
                "maxRecordBytes %d must fit in a segment: at most segmentBytes %d minus the %d-byte header",
                maxRecordBytes, segmentBytes, WalSegmentHeader.HEADER_BYTES);
    }

    /** A config with the default segment and record sizes. */
    public static WalConfig of(Path directory, long clusterId, long nodeId) {
        return new WalConfig(directory, clusterId, nodeId, DEFAULT_SEGMENT_BYTES, DEFAULT_MAX_RECORD_BYTES);
    }
}
