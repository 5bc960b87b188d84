package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * The tail of a replica's log that the application has not yet made durable: an incoming snapshot
 * and/or entries starting at {@code offset}. Owned by the replica's thread.
 *
 * <p>Invariant: {@code entries.get(i).index() == offset + i}; if a snapshot is present,
 * {@code offset == snapshot.index + 1}.
 */
final class UnstableLog {
    static final long UNKNOWN = -1;

    Snapshot snapshot;
    final ArrayList<Entry> entries = new ArrayList<>();
    long offset;

    UnstableLog(long offset) {
        this.offset = offset;
    }

    /** First index if a snapshot is pending, else UNKNOWN (ask the storage). */
    long maybeFirstIndex() {
        return snapshot != null ? snapshot.metadata().index() + 1 : UNKNOWN;
    }

    /** Last index if this holds entries or a snapshot, else UNKNOWN. */
    long maybeLastIndex() {
        if (!entries.isEmpty()) {
            return offset + entries.size() - 1;
        }
        return snapshot != null ? snapshot.metadata().index() : UNKNOWN;
    }

    /** Term at {@code index} if this holds it, else UNKNOWN. */
    long maybeTerm(long index) {
        if (index < offset) {
            if (snapshot != null && snapshot.metadata().index() == index) {
                return snapshot.metadata().term();
            }
            return UNKNOWN;
        }
        long last = maybeLastIndex();
        if (last == UNKNOWN || index > last) {
            return UNKNOWN;
        }
        return entries.get((int) (index - offset)).term();
    }

    /** Entries up to {@code index} at {@code term} became durable: drop them, unless overwritten meanwhile. */
    void stableTo(long index, long term) {
        long t = maybeTerm(index);
        if (t == UNKNOWN || index < offset) {
            return;
        }
        if (t == term) {
            entries.subList(0, (int) (index + 1 - offset)).clear();
            offset = index + 1;
        }
    }

    void stableSnapTo(long index) {
        if (snapshot != null && snapshot.metadata().index() == index) {
            snapshot = null;
        }
    }

    void restore(Snapshot s) {
        offset = s.metadata().index() + 1;
        entries.clear();
        snapshot = s;
    }

    /** Appends, first discarding any suffix the new entries overwrite (a new leader's log wins). */
    void truncateAndAppend(List<Entry> ents) {
        long after = ents.get(0).index();
        if (after == offset + entries.size()) {
            entries.addAll(ents);
        } else if (after <= offset) {
            // Replaces everything unstable; the storage's entries from `after` on are stale and
            // will be overwritten when these become durable.
            offset = after;
            entries.clear();
            entries.addAll(ents);
        } else {
            entries.subList((int) (after - offset), entries.size()).clear();
            entries.addAll(ents);
        }
    }

    /** Entries [lo, hi), which must lie within this unstable tail. */
    List<Entry> slice(long lo, long hi) {
        Check.state(lo >= offset && hi <= offset + entries.size() && lo <= hi,
                "unstable slice [%d, %d) out of bounds [%d, %d)", lo, hi, offset, offset + entries.size());
        return entries.subList((int) (lo - offset), (int) (hi - offset));
    }
}
