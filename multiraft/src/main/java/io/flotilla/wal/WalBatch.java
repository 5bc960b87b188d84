package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.Entry;
import java.util.List;

/**
 * The records one worker round hands to the log (usually several groups'), submitted together and
 * acknowledged together. Single use.
 *
 * <p>Ownership moves with the batch: the submitting thread builds it and owns it until
 * {@link WalWriter#submit} accepts it; the writer thread then owns it and fills in where each record
 * landed; once it is durable, the writer passes it (through a queue) to the log's completer thread,
 * which runs the callback; after the callback has handed it back to a worker (through
 * a queue, which orders the memory), that worker may read the positions. Nobody mutates it
 * concurrently, so the fields are plain.
 */
public final class WalBatch {
    private final List<WalRecord> records;
    /** Aligned size of each record, computed once by the submitter so the writer only copies. */
    private final int[] recordBytes;
    private final long totalBytes;
    private final long entryCount;
    /** Where each record landed; written by the writer thread before the callback. */
    private final long[] recordSequences;
    private final int[] recordOffsets;
    private final boolean forced;
    private WalAppendCallback callback;
    private boolean submitted;

    /**
     * @param records one or more records, in the order they must appear in the log
     * @throws IllegalArgumentException if the list is empty, an ENTRIES record's indexes are not
     *         consecutive or a SNAPSHOT_MARK carries too many members (refused here so that a
     *         malformed batch never reaches the writer thread, where an error would stop the whole log)
     */
    public WalBatch(List<WalRecord> records) {
        this(records, true);
    }

    /**
     * As {@link #WalBatch(List)}; with {@code forced} false the batch is reported done once
     * written, without waiting for a force of its own (a later forced batch, a segment rollover or
     * the next open makes it durable; a crash before that may lose it). Only for records whose loss
     * nothing depends on: a hard state that moved only the commit index (etcd syncs only for
     * entries, term and vote). A round that holds any forced batch is forced as a whole.
     */
    public WalBatch(List<WalRecord> records, boolean forced) {
        Check.argument(!records.isEmpty(), "a batch needs at least one record");
        this.records = List.copyOf(records);
        int n = this.records.size();
        this.recordBytes = new int[n];
        this.recordSequences = new long[n];
        this.recordOffsets = new int[n];
        long total = 0;
        long entries = 0;
        for (int i = 0; i < n; i++) {
            long bytes = recordBytes(this.records.get(i));
            // Anything past 2 GiB is over every maxRecordBytes; submit refuses it with the real figure.
            recordBytes[i] = (int) Math.min(bytes, Integer.MAX_VALUE);
            total += bytes;
            if (this.records.get(i) instanceof WalRecord.Entries e) {
                entries += e.entries().size();
            }
        }
        this.totalBytes = total;
        this.entryCount = entries;
        this.forced = forced;
    }

    /**
     * Aligned bytes {@code record} takes in the log, header and padding included; checks ENTRIES
     * indexes and the size of a SNAPSHOT_MARK's membership.
     */
    public static long recordBytes(WalRecord record) {
        return switch (record.type()) {
            case ENTRIES -> {
                WalRecord.Entries r = (WalRecord.Entries) record;
                List<Entry> entries = r.entries();
                Check.argument(!entries.isEmpty(), "an ENTRIES record for group %d needs at least one entry", r.groupId());
                long first = entries.get(0).index();
                for (int i = 1; i < entries.size(); i++) {
                    if (entries.get(i).index() != first + i) { // not Check: its varargs would box on every entry
                        throw new IllegalArgumentException(String.format("group %d: entry %d has index %d, expected %d",
                                r.groupId(), i, entries.get(i).index(), first + i));
                    }
                }
                yield WalRecordEncoder.entriesRecordBytes(entries);
            }
            case HARD_STATE -> WalRecordFormat.HEADER_BYTES + WalRecordFormat.HARD_STATE_BODY_BYTES;
            case TRUNCATE_SUFFIX -> WalRecordFormat.HEADER_BYTES + WalRecordFormat.TRUNCATE_SUFFIX_BODY_BYTES;
            case COMPACT_PREFIX -> WalRecordFormat.HEADER_BYTES + WalRecordFormat.COMPACT_PREFIX_BODY_BYTES;
            case SNAPSHOT_MARK -> {
                WalRecord.SnapshotMark r = (WalRecord.SnapshotMark) record;
                yield WalRecordEncoder.snapshotMarkRecordBytes(r.groupId(), r.confState());
            }
            case TOMBSTONE, REVIVE -> WalRecordFormat.HEADER_BYTES + WalRecordFormat.TOMBSTONE_BODY_BYTES;
            case TOMBSTONE_SET -> WalRecordEncoder.tombstoneSetRecordBytes(((WalRecord.TombstoneSet) record).groupIds());
        };
    }

    public int size() {
        return records.size();
    }

    public WalRecord record(int i) {
        return records.get(i);
    }

    public List<WalRecord> records() {
        return records;
    }

    /** Bytes the batch takes in the log. */
    public long totalBytes() {
        return totalBytes;
    }

    /** False for a batch that is done once written ({@link #WalBatch(List, boolean)}). */
    public boolean forced() {
        return forced;
    }

    /** Raft entries in the batch's ENTRIES records. */
    public long entryCount() {
        return entryCount;
    }

    /** The segment record {@code i} was written to; valid once the batch is durable. */
    public long recordSegmentSequence(int i) {
        return recordSequences[i];
    }

    /** Offset of record {@code i} in its segment; valid once the batch is durable. */
    public int recordOffsetBytes(int i) {
        return recordOffsets[i];
    }

    int recordBytes(int i) {
        return recordBytes[i];
    }

    /** Called by the submitting thread before it offers the batch to the writer. */
    void beginSubmit(WalAppendCallback callback, int maxRecordBytes) {
        Check.argument(callback != null, "a batch needs a callback");
        Check.state(!submitted, "this batch was already submitted; a batch is single use");
        for (int i = 0; i < recordBytes.length; i++) {
            if (recordBytes[i] > maxRecordBytes) {
                throw new IllegalArgumentException(String.format("record %d of the batch (group %d) takes %d bytes,"
                        + " more than maxRecordBytes %d: split its entries over several records",
                        i, records.get(i).groupId(), recordBytes[i], maxRecordBytes));
            }
        }
        this.callback = callback;
        this.submitted = true;
    }

    /** The submission was refused (queue full or closed): the submitter owns the batch again and may retry. */
    void cancelSubmit() {
        this.callback = null;
        this.submitted = false;
    }

    void place(int i, long segmentSequence, long offsetBytes) {
        recordSequences[i] = segmentSequence;
        recordOffsets[i] = (int) offsetBytes;
    }

    WalAppendCallback callback() {
        return callback;
    }
}
