package io.flotilla.wal;

import java.util.List;

/**
 * Where a recovered log ends and what the writer must do before appending. Immutable; handed from
 * the recovering thread to the writer.
 *
 * @param segmentSequences segments present and valid, in order (empty segments after the tail included)
 * @param tailSequence     the segment the next record goes to: the last one holding a record, else
 *                         the first segment; -1 if there are no segments
 * @param tailEndBytes     offset in the tail segment where valid data ends and the next record goes
 * @param tornEndBytes     end of the torn bytes after {@code tailEndBytes} (equal to it if none); the
 *                         writer must zero {@code [tailEndBytes, tornEndBytes)} (or move to a new
 *                         segment) before appending, or a later recovery would see the leftovers as
 *                         corruption in the middle of the log
 * @param lastRecordCrc    CRC of the last valid record (0 if none); the encoder continues the chain from it
 * @param recordCount      records delivered to the visitor
 * @param tempFileNames    leftover temporary segment files from an interrupted creation; safe to delete
 */
public record WalRecoveryResult(List<Long> segmentSequences, long tailSequence, long tailEndBytes, long tornEndBytes,
        int lastRecordCrc, long recordCount, List<String> tempFileNames) {
    public WalRecoveryResult {
        segmentSequences = List.copyOf(segmentSequences);
        tempFileNames = List.copyOf(tempFileNames);
    }

    /** True if recovery discarded a torn tail. */
    public boolean tornTail() {
        return tornEndBytes > tailEndBytes;
    }
}
