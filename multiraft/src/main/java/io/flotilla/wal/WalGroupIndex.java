package io.flotilla.wal;

import io.flotilla.raft.Check;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import java.util.List;

/**
 * One group's in-memory index over the shared log: which entries the group holds, the term and
 * location of each, the compaction point, the hard state, the latest snapshot mark (with the
 * membership it carries), and a bounded cache of the most recent entries so replication rarely
 * reads the disk.
 *
 * <p>Threads. Built by the recovering thread ({@link WalIndexBuilder}), then handed to the worker
 * that owns the group, which alone reads and updates it from then on (it applies each of its
 * records once the writer reports them durable, in log order). Nothing here is thread-safe.
 *
 * <p>Layout. Entries {@code [firstIndex, lastIndex]} sit in a ring of two parallel {@code long}
 * arrays (16 bytes an entry, no object per entry): {@code terms} and {@code locations}, where a
 * location packs {@code segmentSequence << 32 | recordOffsetBytes} of the ENTRIES record that holds
 * the entry (entries of one record share a location). The ring's capacity is a power of two; it
 * doubles when full and halves when compaction leaves it a quarter full. The cache is a second,
 * smaller ring of {@link Entry} objects covering a suffix {@code [cacheFirstIndex, lastIndex]} of the
 * log, trimmed from its front to {@link WalCacheConfig}.
 *
 * <p>Invariants: {@code firstIndex == compactedIndex + 1}; {@code lastIndex == compactedIndex + count};
 * the cache holds the last {@code cacheCount <= count} entries of the log.
 */
public final class WalGroupIndex {
    private static final int MIN_CAPACITY = 16;
    private static final int MIN_CACHE_CAPACITY = 8;
    /** Offsets fit in 32 bits (segments are at most 1 GiB); sequences must leave the sign bit clear. */
    private static final long MAX_SEQUENCE = Integer.MAX_VALUE;

    private final long groupId;
    private final WalCacheConfig cacheConfig;

    private long compactedIndex;
    private long compactedTerm;
    /**
     * Recovery only: a compaction point seen below an anchor of unknown term, and its term, not yet
     * known to be a rewrite's restatement of the log (see {@link #compactPrefix}); -1 if none.
     */
    private long restateIndex = -1;
    private long restateTerm;
    private long[] terms = new long[MIN_CAPACITY];
    private long[] locations = new long[MIN_CAPACITY];
    /** Slot of {@code firstIndex}. */
    private int head;
    /** Entries held: {@code lastIndex - firstIndex + 1}. */
    private int count;

    private Entry[] cache = new Entry[0];
    /** Slot of {@code cacheFirstIndex}. */
    private int cacheHead;
    private int cacheCount;
    private long cacheBytes;
    /** The part of {@link #cacheBytes} already added to the node-wide budget. */
    private long budgetedBytes;

    private HardState hardState = HardState.EMPTY;
    private long snapshotIndex;
    /** See {@link #revivedWithoutSnapshot()}. */
    private boolean revivedWithoutSnapshot;
    private long snapshotTerm;
    /** Membership carried by the latest snapshot mark; {@link ConfState#EMPTY} if there is none. */
    private ConfState snapshotConfState = ConfState.EMPTY;
    /** Segments holding the latest HARD_STATE, COMPACT_PREFIX and SNAPSHOT_MARK records (0: none). */
    private long hardStateSegment;
    private long compactionSegment;
    private long snapshotMarkSegment;
    /** The replica was removed (a TOMBSTONE record): only that record is live; nothing may follow it. */
    private boolean removed;
    private long tombstoneSegment;
    /** Shared with every group of the node; cached bytes beyond it are evicted. */
    private final WalCacheBudget budget;

    public WalGroupIndex(long groupId, WalCacheConfig cacheConfig) {
        this(groupId, cacheConfig, WalCacheBudget.UNLIMITED);
    }

    public WalGroupIndex(long groupId, WalCacheConfig cacheConfig, WalCacheBudget budget) {
        this.groupId = groupId;
        this.cacheConfig = cacheConfig;
        this.budget = budget;
    }

    public long groupId() {
        return groupId;
    }

    public long firstIndex() {
        return compactedIndex + 1;
    }

    public long lastIndex() {
        return compactedIndex + count;
    }

    /** The index up to which entries are compacted away (0 if none); its term still answers. */
    public long compactedIndex() {
        return compactedIndex;
    }

    public long compactedTerm() {
        return compactedTerm;
    }

    public HardState hardState() {
        return hardState;
    }

    /**
     * The group's replica here was revived (a REVIVE record) and has installed no snapshot since:
     * it must not vote yet (see {@code RaftNode.withholdVotesUntilSnapshot}).
     */
    public boolean revivedWithoutSnapshot() {
        return revivedWithoutSnapshot;
    }

    /** Index of the latest snapshot mark, 0 if there is none. */
    public long snapshotIndex() {
        return snapshotIndex;
    }

    public long snapshotTerm() {
        return snapshotTerm;
    }

    /** The group's membership at the latest snapshot mark, {@link ConfState#EMPTY} if there is none. */
    public ConfState snapshotConfState() {
        return snapshotConfState;
    }

    /** Term of the entry at {@code index}, which must be in {@code [compactedIndex, lastIndex]}. */
    public long term(long index) {
        if (index == compactedIndex) {
            return compactedTerm;
        }
        return terms[slot(index)];
    }

    /** Segment of the record holding the entry at {@code index} ({@code firstIndex <= index <= lastIndex}). */
    public long segmentSequence(long index) {
        return locations[slot(index)] >>> 32;
    }

    /** Offset in its segment of the record holding the entry at {@code index}. */
    public int recordOffsetBytes(long index) {
        return (int) locations[slot(index)];
    }

    /** The packed location of the entry at {@code index}: equal for entries of the same record. */
    long location(long index) {
        return locations[slot(index)];
    }

    /** First index whose entry is cached; {@code lastIndex + 1} if the cache is empty. */
    public long cacheFirstIndex() {
        return lastIndex() - cacheCount + 1;
    }

    /** The cached entry at {@code index}, which must be in {@code [cacheFirstIndex, lastIndex]}. */
    public Entry cached(long index) {
        long first = cacheFirstIndex();
        Check.argument(index >= first && index <= lastIndex(), "entry %d is not cached: the cache holds [%d, %d]",
                index, first, lastIndex());
        return cache[(int) ((cacheHead + (index - first)) & (cache.length - 1))];
    }

    public int cachedEntries() {
        return cacheCount;
    }

    public long cachedBytes() {
        return cacheBytes;
    }

    /** Slots allocated for the term and location arrays (for memory accounting and tests). */
    public int capacity() {
        return terms.length;
    }

    /**
     * Applies one durable record of this group, in log order, written at {@code segmentSequence} /
     * {@code offsetBytes}. Replaying a log's records through this method rebuilds exactly the index
     * the live log had.
     */
    public void apply(WalRecord record, long segmentSequence, long offsetBytes) {
        apply(record, segmentSequence, offsetBytes, true);
    }

    /**
     * As {@link #apply(WalRecord, long, long)}, for a record of a batch that was {@code forced} or
     * only written ({@link WalBatch#forced()}). An unforced hard state is the group's hard state
     * from now on, but the segment of the last forced one stays live: purge may delete it only
     * once a newer one is surely on disk, or a crash could leave the group with no term and vote.
     */
    public void apply(WalRecord record, long segmentSequence, long offsetBytes, boolean forced) {
        applyRecord(record, segmentSequence, offsetBytes, forced);
        settleBudget();
    }

    private void applyRecord(WalRecord record, long segmentSequence, long offsetBytes, boolean forced) {
        Check.argument(record.groupId() == groupId, "record of group %d applied to the index of group %d",
                record.groupId(), groupId);
        if (removed) {
            if (record.type() == WalRecordType.TOMBSTONE) {
                // The live tombstone written again further on (Wal#rewriteForward): only its segment moves.
                tombstoneSegment = segmentSequence;
                return;
            }
            throw new IllegalStateException("group " + groupId + ": a " + record.type() + " record after its tombstone");
        }
        // Java 17 has no pattern switch; the type code selects the record class.
        switch (record.type()) {
            case ENTRIES -> append(((WalRecord.Entries) record).entries(), segmentSequence, offsetBytes);
            case HARD_STATE -> {
                hardState = ((WalRecord.HardStateUpdate) record).hardState();
                if (forced || hardStateSegment == 0) {
                    hardStateSegment = segmentSequence;
                }
            }
            case TRUNCATE_SUFFIX -> truncateSuffix(((WalRecord.TruncateSuffix) record).firstRemovedIndex());
            case COMPACT_PREFIX -> {
                WalRecord.CompactPrefix r = (WalRecord.CompactPrefix) record;
                // An older compaction written after a newer one (the runtime queued it before a
                // snapshot install landed) is dead on arrival: moving the live record's segment to
                // it would let purge delete the live one. Found by the 1,024-group cluster check.
                if (r.compactedIndex() >= compactedIndex || compactedTerm == UNKNOWN_TERM) {
                    compactPrefix(r.compactedIndex(), r.compactedTerm());
                    compactionSegment = segmentSequence;
                }
            }
            case SNAPSHOT_MARK -> markSnapshot((WalRecord.SnapshotMark) record, segmentSequence);
            case TOMBSTONE -> removeAll(segmentSequence);
            case REVIVE -> {
                Check.state(count == 0 && compactedIndex == 0 && snapshotIndex == 0,
                        "group %d: a REVIVE record after records of the new replica", groupId);
                revivedWithoutSnapshot = true;
            }
            default -> throw new IllegalStateException("unhandled record type " + record.type());
        }
    }

    /** The replica was removed: its entries, hard state and marks are dead; the tombstone alone lives. */
    private void removeAll(long segmentSequence) {
        while (cacheCount > 0) {
            cachePopFront();
        }
        head = 0;
        count = 0;
        hardState = HardState.EMPTY;
        hardStateSegment = 0;
        compactionSegment = 0;
        snapshotMarkSegment = 0;
        snapshotConfState = ConfState.EMPTY;
        removed = true;
        tombstoneSegment = segmentSequence;
    }

    /** True once the group's replica on this node was removed (it must never be recreated). */
    public boolean removed() {
        return removed;
    }

    /**
     * Appends consecutive entries from one ENTRIES record, first discarding any suffix they
     * overwrite (a new leader's entries replace ours from their first index, Raft thesis §3.5).
     * Entries at or below the compaction point are skipped; a gap after {@code lastIndex} is a bug.
     */
    private void append(List<Entry> entries, long segmentSequence, long offsetBytes) {
        if (restateIndex >= 0) {
            if (entries.get(0).index() == restateIndex + 1) {
                restate();
            } else {
                restateIndex = -1;
            }
        }
        Check.argument(segmentSequence >= 0 && segmentSequence <= MAX_SEQUENCE && offsetBytes >= 0
                && offsetBytes <= 0xFFFF_FFFFL, "location %d/%d does not fit the index", segmentSequence, offsetBytes);
        long location = segmentSequence << 32 | offsetBytes;
        long start = entries.get(0).index();
        long end = start + entries.size() - 1;
        if (end <= compactedIndex) {
            return;
        }
        int skip = (int) Math.max(0, firstIndex() - start);
        long from = start + skip;
        Check.state(from <= lastIndex() + 1, "group %d: append at %d leaves a gap after last index %d",
                groupId, from, lastIndex());
        if (from <= lastIndex()) {
            truncateSuffix(from);
        }
        for (int i = skip; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (count == terms.length) {
                resize(terms.length * 2);
            }
            int s = (head + count) & (terms.length - 1);
            terms[s] = e.term();
            locations[s] = location;
            count++;
            cachePush(e);
        }
    }

    /** Removes entries {@code >= firstRemovedIndex}; nothing if it is past the last. */
    private void truncateSuffix(long firstRemovedIndex) {
        Check.state(firstRemovedIndex > compactedIndex, "group %d: truncating from %d would remove compacted index %d",
                groupId, firstRemovedIndex, compactedIndex);
        long last = lastIndex();
        if (firstRemovedIndex > last) {
            return;
        }
        int removed = (int) (last - firstRemovedIndex + 1);
        count -= removed;
        int cacheRemoved = Math.min(removed, cacheCount);
        for (int i = 0; i < cacheRemoved; i++) {
            int s = (cacheHead + cacheCount - 1) & (cache.length - 1);
            cacheBytes -= cache[s].sizeBytes();
            cache[s] = null;
            cacheCount--;
        }
    }

    /**
     * Drops entries {@code <= index}. If the log holds {@code index} with {@code term}, the entries
     * after it stay (Raft thesis §5.1: a snapshot that matches the log keeps the log's suffix);
     * otherwise (a snapshot past the log's end, or conflicting with it) the whole log goes and the
     * group starts empty after {@code index}. A point at or below the current one is ignored.
     */
    private void compactPrefix(long index, long term) {
        restateIndex = -1;
        if (index == compactedIndex && compactedTerm == UNKNOWN_TERM) {
            // The anchor set by recovery after purge: this record supplies its term.
            compactedTerm = term;
            return;
        }
        if (index < compactedIndex && compactedTerm == UNKNOWN_TERM) {
            // Anchored at surviving entries whose compaction point was purged, then a point below
            // the anchor. Either it is Wal#rewriteForward restating the whole live log (its entries
            // follow from index + 1, and the surviving records before it are dead copies), or an
            // ordinary compaction record the runtime wrote after later entries, left dead by a newer
            // point that was purged with the entries in between (found by the runtime simulation:
            // taking it for a rewrite dropped live entries). What follows tells them apart: entries
            // from index + 1 or the end of the scan (a rewrite; see #finishRecovery), anything else
            // (the ordinary record, which is dead).
            restateIndex = index;
            restateTerm = term;
            return;
        }
        if (index <= compactedIndex) {
            return;
        }
        if (index <= lastIndex() && term(index) == term) {
            // Trim the cache first: cacheFirstIndex() is derived from lastIndex(), which moves below.
            long cacheFirst = cacheFirstIndex();
            while (cacheCount > 0 && cacheFirst <= index) {
                cachePopFront();
                cacheFirst++;
            }
            int dropped = (int) (index - compactedIndex);
            head = (head + dropped) & (terms.length - 1);
            count -= dropped;
        } else {
            head = 0;
            count = 0;
            while (cacheCount > 0) {
                cachePopFront();
            }
        }
        compactedIndex = index;
        compactedTerm = term;
        if (terms.length > MIN_CAPACITY && count < terms.length / 4) {
            resize(Math.max(MIN_CAPACITY, terms.length / 2));
        }
    }

    /**
     * Recovery, once every record was seen: a compaction point below the anchor that nothing
     * after it contradicted was a rewrite restating a log with no entries after it.
     */
    void finishRecovery() {
        if (restateIndex >= 0) {
            restate();
        }
    }

    /** Starts over from the rewrite's compaction point: the records before it were dead copies. */
    private void restate() {
        head = 0;
        count = 0;
        while (cacheCount > 0) {
            cachePopFront();
        }
        compactedIndex = restateIndex;
        compactedTerm = restateTerm;
        restateIndex = -1;
    }

    /**
     * Recovery only: the log's oldest segments were purged, so this group's entries resume at
     * {@code firstIndex}, past the end of the index. Everything before it was compacted, and
     * entries held before the gap are dead copies that survived in segments other groups kept; the
     * group's live COMPACT_PREFIX record (purge never deletes it) comes later in the log and
     * supplies the term. Surviving records before it that hold no entries (an older hard state,
     * snapshot mark or compaction point) do not change that.
     */
    void anchorBefore(long firstIndex) {
        Check.state(firstIndex > lastIndex() + 1, "group %d: anchoring at %d an index holding [%d, %d]",
                groupId, firstIndex, compactedIndex + 1, lastIndex());
        // Entries held before the gap are dead copies: the live log is one run.
        head = 0;
        count = 0;
        while (cacheCount > 0) {
            cachePopFront();
        }
        restateIndex = -1;
        compactedIndex = firstIndex - 1;
        compactedTerm = UNKNOWN_TERM;
    }

    /**
     * The oldest segment that holds a record this group still needs: its first live entry, its
     * latest hard state, compaction point and snapshot mark; {@link Long#MAX_VALUE} if none. Entry
     * locations never decrease with the index (a rewrite of entry i rewrites every entry after it),
     * so the first entry's segment is the oldest of all its entries'.
     */
    public long oldestLiveSegment() {
        if (removed) {
            return tombstoneSegment;
        }
        long oldest = Long.MAX_VALUE;
        if (count > 0) {
            oldest = locations[head] >>> 32;
        }
        if (hardStateSegment > 0) {
            oldest = Math.min(oldest, hardStateSegment);
        }
        if (compactionSegment > 0) {
            oldest = Math.min(oldest, compactionSegment);
        }
        if (snapshotMarkSegment > 0) {
            oldest = Math.min(oldest, snapshotMarkSegment);
        }
        return oldest;
    }

    /** Term of the compaction point is not known yet (see {@link #anchorBefore}). */
    static final long UNKNOWN_TERM = -1;

    /**
     * Takes a mark at or past the latest one; an older mark is dead on arrival and changes nothing,
     * not even the live mark's segment (moving it would let purge delete the live mark). A mark at
     * the same index is the live one written again ({@link Wal#rewriteForward}): its segment moves.
     */
    private void markSnapshot(WalRecord.SnapshotMark mark, long segmentSequence) {
        revivedWithoutSnapshot = false;
        if (mark.index() >= snapshotIndex) {
            snapshotIndex = mark.index();
            snapshotTerm = mark.term();
            snapshotConfState = mark.confState();
            snapshotMarkSegment = segmentSequence;
        }
    }

    private int slot(long index) {
        Check.argument(index > compactedIndex && index <= lastIndex(), "group %d: index %d outside [%d, %d]",
                groupId, index, compactedIndex + 1, lastIndex());
        return (int) ((head + (index - compactedIndex - 1)) & (terms.length - 1));
    }

    private void resize(int capacity) {
        Check.state(capacity >= count && Integer.bitCount(capacity) == 1, "group %d: ring capacity %d for %d entries",
                groupId, capacity, count);
        long[] newTerms = new long[capacity];
        long[] newLocations = new long[capacity];
        int mask = terms.length - 1;
        for (int i = 0; i < count; i++) {
            newTerms[i] = terms[(head + i) & mask];
            newLocations[i] = locations[(head + i) & mask];
        }
        terms = newTerms;
        locations = newLocations;
        head = 0;
    }

    private void cachePush(Entry e) {
        if (cacheConfig.maxEntries() == 0) {
            return;
        }
        if (cacheCount == cache.length) {
            growCache();
        }
        cache[(cacheHead + cacheCount) & (cache.length - 1)] = e;
        cacheCount++;
        cacheBytes += e.sizeBytes();
        while (cacheCount > 0 && (cacheCount > cacheConfig.maxEntries() || cacheBytes > cacheConfig.maxBytes())) {
            cachePopFront();
        }
    }

    /**
     * Brings the node-wide budget up to date with this group's cache: one atomic add per record,
     * not two per entry (workers share the counter). Over the budget, the group that is adding
     * gives back its own oldest entries (keeping its newest), so busy groups pay for their cache
     * and idle ones keep theirs.
     */
    private void settleBudget() {
        if (cacheBytes != budgetedBytes) {
            budget.add(cacheBytes - budgetedBytes);
            budgetedBytes = cacheBytes;
        }
        while (cacheCount > 1 && budget.exceeded()) {
            cachePopFront();
            budget.add(cacheBytes - budgetedBytes);
            budgetedBytes = cacheBytes;
        }
    }

    private void growCache() {
        int capacity = Math.max(MIN_CACHE_CAPACITY, cache.length * 2);
        Entry[] grown = new Entry[capacity];
        for (int i = 0; i < cacheCount; i++) {
            grown[i] = cache[(cacheHead + i) & (cache.length - 1)];
        }
        cache = grown;
        cacheHead = 0;
    }

    private void cachePopFront() {
        Entry e = cache[cacheHead];
        cacheBytes -= e.sizeBytes();
        cache[cacheHead] = null;
        cacheHead = (cacheHead + 1) & (cache.length - 1);
        cacheCount--;
    }
}
