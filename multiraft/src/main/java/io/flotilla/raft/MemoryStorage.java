package io.flotilla.raft;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RaftStorage} held in memory, for tests, simulations and benchmarks. Owned by the thread
 * that owns the replica. "Durable" here means written to this object; the simulation decides
 * separately when a write counts as persisted.
 *
 * <p>Invariant: {@code entries.get(0)} is a dummy holding the snapshot's index and term, and
 * {@code entries.get(i).index() == snapshotIndex + i}.
 */
public final class MemoryStorage implements RaftStorage {
    private HardState hardState = HardState.EMPTY;
    private Snapshot snapshot = Snapshot.EMPTY;
    private final ArrayList<Entry> entries = new ArrayList<>();

    public MemoryStorage() {
        entries.add(new Entry(0, 0, EntryType.NORMAL, new byte[0]));
    }

    /**
     * A storage for an initial member of a brand-new group. The initial membership is recorded as a
     * snapshot of the empty state at {@link #BOOTSTRAP_INDEX} (as TiKV bootstraps regions), so a
     * replica added later starts empty and learns the membership from the snapshot it is sent.
     */
    public static MemoryStorage withMembers(long... voters) {
        MemoryStorage s = new MemoryStorage();
        s.applySnapshot(new Snapshot(new SnapshotMetadata(BOOTSTRAP_INDEX, BOOTSTRAP_TERM, ConfState.ofVoters(voters)), new byte[0]));
        s.hardState = new HardState(BOOTSTRAP_TERM, 0, BOOTSTRAP_INDEX);
        return s;
    }

    /** Index and term of the empty bootstrap snapshot that carries a new group's initial membership. */
    public static final long BOOTSTRAP_INDEX = 1;
    public static final long BOOTSTRAP_TERM = 1;

    @Override
    public HardState initialHardState() {
        return hardState;
    }

    @Override
    public ConfState initialConfState() {
        return snapshot.metadata().confState();
    }

    public void setHardState(HardState hs) {
        this.hardState = hs;
    }

    private long offset() {
        return entries.get(0).index();
    }

    @Override
    public List<Entry> entries(long lo, long hi, long maxBytes) {
        long offset = offset();
        if (lo <= offset) {
            throw new LogCompactedException(lo, offset + 1);
        }
        Check.argument(hi <= lastIndex() + 1, "entries [%d, %d) beyond last index %d", lo, hi, lastIndex());
        List<Entry> out = new ArrayList<>((int) Math.min(hi - lo, 64));
        long bytes = 0;
        for (long i = lo; i < hi; i++) {
            Entry e = entries.get((int) (i - offset));
            bytes += e.sizeBytes();
            if (!out.isEmpty() && bytes > maxBytes) {
                break;
            }
            out.add(e);
        }
        return out;
    }

    @Override
    public long term(long index) {
        long offset = offset();
        if (index < offset) {
            throw new LogCompactedException(index, offset + 1);
        }
        if (index - offset >= entries.size()) {
            return 0;
        }
        return entries.get((int) (index - offset)).term();
    }

    @Override
    public long firstIndex() {
        return offset() + 1;
    }

    @Override
    public long lastIndex() {
        return offset() + entries.size() - 1;
    }

    @Override
    public Snapshot snapshot() {
        return snapshot;
    }

    /** Replaces the whole log with a received snapshot. Ignored if older than the current one. */
    public void applySnapshot(Snapshot s) {
        if (s.metadata().index() <= snapshot.metadata().index()) {
            return;
        }
        snapshot = s;
        entries.clear();
        entries.add(new Entry(s.metadata().term(), s.metadata().index(), EntryType.NORMAL, new byte[0]));
    }

    /**
     * Records a snapshot of the state machine taken at {@code index} (which must be applied, hence
     * in the log), without discarding entries; call {@link #compact(long)} for that.
     */
    public void createSnapshot(long index, ConfState confState, byte[] data) {
        Check.argument(index > snapshot.metadata().index(), "snapshot at %d is not newer than %d", index, snapshot.metadata().index());
        Check.argument(index <= lastIndex(), "snapshot at %d beyond last index %d", index, lastIndex());
        snapshot = new Snapshot(new SnapshotMetadata(index, term(index), confState), data);
    }

    /** Discards entries up to and including {@code compactIndex}. */
    public void compact(long compactIndex) {
        long offset = offset();
        if (compactIndex <= offset) {
            return;
        }
        Check.argument(compactIndex <= lastIndex(), "compact %d beyond last index %d", compactIndex, lastIndex());
        int cut = (int) (compactIndex - offset);
        Entry newDummy = new Entry(entries.get(cut).term(), compactIndex, EntryType.NORMAL, new byte[0]);
        entries.subList(0, cut + 1).clear();
        entries.add(0, newDummy);
    }

    /**
     * Appends entries, first discarding any existing suffix they overwrite. Entries at or below the
     * snapshot are skipped. The first new entry must not leave a gap.
     */
    public void append(List<Entry> newEntries) {
        if (newEntries.isEmpty()) {
            return;
        }
        long first = firstIndex();
        long last = newEntries.get(newEntries.size() - 1).index();
        if (last < first) {
            return;
        }
        int skip = 0;
        if (newEntries.get(0).index() < first) {
            skip = (int) (first - newEntries.get(0).index());
        }
        Entry head = newEntries.get(skip);
        long offset = offset();
        Check.argument(head.index() <= lastIndex() + 1, "append at %d leaves a gap after last index %d", head.index(), lastIndex());
        int keep = (int) (head.index() - offset);
        if (keep < entries.size()) {
            entries.subList(keep, entries.size()).clear();
        }
        entries.addAll(newEntries.subList(skip, newEntries.size()));
    }
}
