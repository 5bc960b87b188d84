package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.LogCompactedException;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * One group's view of the shared log as the Raft core's {@link RaftStorage}: indexes, terms and hard
 * state come from the group's {@link WalGroupIndex}; entries from its cache, or, for older entries,
 * from their record in the segment file. The membership at the latest snapshot comes from that
 * snapshot's mark in the log, so a restart after compaction needs nothing but the log; the snapshot
 * itself (the state machine's data) comes from a {@link WalSnapshotSource}. Owned by the group's
 * worker thread, like the index and the reader it uses.
 *
 * <p>Reading a segment is an IO error or corruption the core cannot handle: it is rethrown
 * unchecked ({@link UncheckedIOException}) and stops the group (STYLE.md: fail-stop on the log).
 */
public final class WalGroupStorage implements RaftStorage {
    private final WalGroupIndex index;
    private final WalSegmentReader reader;
    private final WalSnapshotSource snapshots;
    private long diskReads;

    public WalGroupStorage(WalGroupIndex index, WalSegmentReader reader, WalSnapshotSource snapshots) {
        this.index = index;
        this.reader = reader;
        this.snapshots = snapshots;
    }

    public WalGroupIndex index() {
        return index;
    }

    /** Records read from segment files so far (reads that missed the cache). */
    public long diskReads() {
        return diskReads;
    }

    @Override
    public HardState initialHardState() {
        return index.hardState();
    }

    /** The membership carried by the latest snapshot mark; {@link ConfState#EMPTY} if there is none. */
    @Override
    public ConfState initialConfState() {
        return index.snapshotConfState();
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        long first = index.firstIndex();
        if (lo < first) {
            throw new LogCompactedException(lo, first);
        }
        Check.argument(hi <= index.lastIndex() + 1, "entries [%d, %d) beyond last index %d", lo, hi, index.lastIndex());
        List<Entry> out = new ArrayList<>((int) Math.min(Math.max(hi - lo, 0), 64));
        long cacheFirst = index.cacheFirstIndex();
        long bytes = 0;
        long i = lo;
        while (i < hi) {
            if (i >= cacheFirst) {
                Entry e = index.cached(i);
                bytes += e.sizeBytes();
                if (!out.isEmpty() && bytes > maxBytes) {
                    break;
                }
                out.add(e);
                i++;
                continue;
            }
            long location = index.location(i);
            List<Entry> recordEntries = readRecord(i);
            long base = recordEntries.get(0).index();
            // Take every wanted entry this record still holds: a later record may have overwritten its tail.
            for (; i < hi && i < cacheFirst && index.location(i) == location; i++) {
                Check.state(i >= base && i - base < recordEntries.size(),
                        "group %d: index points entry %d at a record holding [%d, %d]", index.groupId(), i, base,
                        base + recordEntries.size() - 1);
                Entry e = recordEntries.get((int) (i - base));
                Check.state(e.term() == index.term(i), "group %d: entry %d read back with term %d, the index says %d",
                        index.groupId(), i, e.term(), index.term(i));
                bytes += e.sizeBytes();
                if (!out.isEmpty() && bytes > maxBytes) {
                    return out;
                }
                out.add(e);
            }
        }
        return out;
    }

    private List<Entry> readRecord(long entryIndex) {
        long seq = index.segmentSequence(entryIndex);
        int offset = index.recordOffsetBytes(entryIndex);
        WalRecord record;
        try {
            record = reader.read(seq, offset);
        } catch (IOException e) {
            throw new UncheckedIOException("group " + index.groupId() + ": reading entry " + entryIndex + " from segment "
                    + WalSegmentNames.fileName(seq) + " at offset " + offset + " failed", e);
        }
        diskReads++;
        Check.state(record.type() == WalRecordType.ENTRIES && record.groupId() == index.groupId(),
                "group %d: entry %d points at a %s record of group %d in segment %d", index.groupId(), entryIndex,
                record.type(), record.groupId(), seq);
        return ((WalRecord.Entries) record).entries();
    }

    @Override
    public long term(long i) {
        long compacted = index.compactedIndex();
        if (i < compacted) {
            throw new LogCompactedException(i, compacted + 1);
        }
        if (i > index.lastIndex()) {
            return 0;
        }
        return index.term(i);
    }

    @Override
    public long firstIndex() {
        return index.firstIndex();
    }

    @Override
    public long lastIndex() {
        return index.lastIndex();
    }

    /**
     * {@link Snapshot#EMPTY} if the log has no snapshot mark; else the source's snapshot for the
     * latest mark, or null while it cannot make one.
     */
    @Override
    public Snapshot snapshot() {
        long at = index.snapshotIndex();
        SnapshotMetadata mark = at == 0 ? null : new SnapshotMetadata(at, index.snapshotTerm(), index.snapshotConfState());
        // Even a log never compacted may be asked for one: by a follower with nothing (RaftNode#requestSnapshot).
        Snapshot s = snapshots.snapshot(index.groupId(), mark);
        return s == null && mark == null ? Snapshot.EMPTY : s;
    }
}
