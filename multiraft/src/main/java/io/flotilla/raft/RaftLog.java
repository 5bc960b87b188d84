package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * A replica's view of its log: the durable part in {@link RaftStorage} plus the {@link UnstableLog}
 * tail, and the commit and apply cursors. Owned by the replica's thread.
 *
 * <p>Invariant: {@code applied <= committed <= lastIndex()}.
 */
final class RaftLog {
    final RaftStorage storage;
    final UnstableLog unstable;
    long committed;
    long applied;

    RaftLog(RaftStorage storage) {
        this.storage = storage;
        long first = storage.firstIndex();
        this.unstable = new UnstableLog(storage.lastIndex() + 1);
        this.committed = first - 1;
        this.applied = first - 1;
    }

    long firstIndex() {
        long i = unstable.maybeFirstIndex();
        return i != UnstableLog.UNKNOWN ? i : storage.firstIndex();
    }

    long lastIndex() {
        long i = unstable.maybeLastIndex();
        return i != UnstableLog.UNKNOWN ? i : storage.lastIndex();
    }

    /** Term of the entry at {@code index}, or {@link UnstableLog#UNKNOWN} if compacted or beyond the end. */
    long term(long index) {
        if (index < firstIndex() - 1 || index > lastIndex()) {
            return UnstableLog.UNKNOWN;
        }
        long t = unstable.maybeTerm(index);
        if (t != UnstableLog.UNKNOWN) {
            return t;
        }
        try {
            return storage.term(index);
        } catch (LogCompactedException e) {
            return UnstableLog.UNKNOWN;
        }
    }

    long lastTerm() {
        long t = term(lastIndex());
        Check.state(t != UnstableLog.UNKNOWN, "term of last index %d unavailable", lastIndex());
        return t;
    }

    boolean matchTerm(long index, long term) {
        long t = term(index);
        return t != UnstableLog.UNKNOWN && t == term;
    }

    /** Raft paper §5.4.1: a candidate's log is at least as up to date as ours. */
    boolean isUpToDate(long lastIndex, long lastTerm) {
        long ourTerm = lastTerm();
        return lastTerm > ourTerm || (lastTerm == ourTerm && lastIndex >= lastIndex());
    }

    /** Index of the last entry that is durable and still part of this log (a leader's own match). */
    long lastDurableIndex() {
        if (unstable.snapshot != null) {
            return 0;
        }
        return unstable.entries.isEmpty() ? lastIndex() : unstable.offset - 1;
    }

    long append(List<Entry> entries) {
        if (entries.isEmpty()) {
            return lastIndex();
        }
        long after = entries.get(0).index() - 1;
        Check.state(after >= committed, "append after %d is below commit index %d", after, committed);
        unstable.truncateAndAppend(entries);
        return lastIndex();
    }

    /**
     * The follower's side of AppendEntries (Raft paper §5.3): if our entry at {@code index} has
     * {@code logTerm}, append {@code entries} (truncating a conflicting suffix), advance the commit
     * index and return the index of the last new entry; else return -1.
     */
    long maybeAppend(long index, long logTerm, long leaderCommit, List<Entry> entries) {
        if (!matchTerm(index, logTerm)) {
            return -1;
        }
        long lastNew = index + entries.size();
        long conflict = findConflict(entries);
        if (conflict != 0) {
            Check.state(conflict > committed, "entry %d conflicts with committed entry (commit %d)", conflict, committed);
            append(entries.subList((int) (conflict - (index + 1)), entries.size()));
        }
        commitTo(Math.min(leaderCommit, lastNew));
        return lastNew;
    }

    /** The index of the first entry that is new or whose term differs from ours, or 0 if none. */
    long findConflict(List<Entry> entries) {
        // Indexed: this runs for every append a follower receives, and an iterator would be garbage.
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            if (!matchTerm(e.index(), e.term())) {
                return e.index();
            }
        }
        return 0;
    }

    /**
     * Fast backtracking: the largest index {@code <= index} whose term is {@code <= term}. Both sides
     * use it to skip a whole term of mismatching entries per round trip instead of one entry.
     */
    long findConflictByTerm(long index, long term) {
        if (index > lastIndex()) {
            return index;
        }
        for (; index > 0; index--) {
            long t = term(index);
            if (t == UnstableLog.UNKNOWN || t <= term) {
                return index;
            }
        }
        return 0;
    }

    void commitTo(long toCommit) {
        if (toCommit > committed) {
            Check.state(toCommit <= lastIndex(), "commit %d beyond last index %d", toCommit, lastIndex());
            committed = toCommit;
        }
    }

    /** Commits {@code maxIndex} only if it is an entry of {@code term} (Raft paper §5.4.2, figure 8). */
    boolean maybeCommit(long maxIndex, long term) {
        if (maxIndex > committed && term(maxIndex) == term) {
            commitTo(maxIndex);
            return true;
        }
        return false;
    }

    void appliedTo(long index) {
        if (index == 0) {
            return;
        }
        Check.state(index <= committed && index >= applied, "applied %d outside [%d, %d]", index, applied, committed);
        applied = index;
    }

    boolean hasNextCommittedEntries() {
        return unstable.snapshot == null && committed + 1 > Math.max(applied + 1, firstIndex());
    }

    List<Entry> nextCommittedEntries(long maxBytes) {
        if (!hasNextCommittedEntries()) {
            return List.of();
        }
        return slice(Math.max(applied + 1, firstIndex()), committed + 1, maxBytes);
    }

    boolean hasUnappliedConfChanges() {
        if (committed <= applied) {
            return false;
        }
        for (Entry e : slice(Math.max(applied + 1, firstIndex()), committed + 1, Long.MAX_VALUE)) {
            if (e.type() == EntryType.CONF_CHANGE) {
                return true;
            }
        }
        return false;
    }

    /** Entries from {@code lo} to the end, at most {@code maxBytes} (but at least one). */
    List<Entry> entriesFrom(long lo, long maxBytes) {
        if (lo > lastIndex()) {
            return List.of();
        }
        return slice(lo, lastIndex() + 1, maxBytes);
    }

    /** Entries [lo, hi); throws {@link LogCompactedException} if {@code lo} is compacted. */
    List<Entry> slice(long lo, long hi, long maxBytes) {
        long first = firstIndex();
        if (lo < first) {
            throw new LogCompactedException(lo, first);
        }
        Check.state(hi <= lastIndex() + 1, "slice [%d, %d) beyond last index %d", lo, hi, lastIndex());
        if (lo >= hi) {
            return List.of();
        }
        long offset = unstable.offset;
        List<Entry> out = null;
        if (lo < offset) {
            List<Entry> stored = storage.entries(lo, Math.min(hi, offset), maxBytes);
            if (stored.size() < Math.min(hi, offset) - lo || hi <= offset) {
                return stored;
            }
            out = new ArrayList<>(stored);
        }
        List<Entry> tail = unstable.slice(Math.max(lo, offset), hi);
        if (out == null) {
            // One copy, immutable: a leader's append carries it as is (List.copyOf returns it unchanged).
            return List.copyOf(limitSize(tail, maxBytes));
        }
        out.addAll(tail);
        return limitSize(out, maxBytes);
    }

    private static List<Entry> limitSize(List<Entry> entries, long maxBytes) {
        long bytes = 0;
        for (int i = 0; i < entries.size(); i++) {
            bytes += entries.get(i).sizeBytes();
            if (i > 0 && bytes > maxBytes) {
                return entries.subList(0, i);
            }
        }
        return entries;
    }

    void restore(Snapshot s) {
        committed = s.metadata().index();
        unstable.restore(s);
    }

    /** The snapshot a leader sends to a follower that needs compacted entries. */
    Snapshot snapshot() {
        return unstable.snapshot != null ? unstable.snapshot : storage.snapshot();
    }
}
