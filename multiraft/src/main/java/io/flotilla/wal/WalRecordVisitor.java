package io.flotilla.wal;

import java.io.IOException;

/** Receives recovered records in log order; called on the recovering thread only. */
@FunctionalInterface
public interface WalRecordVisitor {
    /**
     * @param segmentSequence the segment holding the record
     * @param offsetBytes     the record's offset in that segment file
     */
    void onRecord(WalRecord record, long segmentSequence, long offsetBytes) throws IOException;
}
