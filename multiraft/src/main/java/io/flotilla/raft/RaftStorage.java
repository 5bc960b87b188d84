package io.flotilla.raft;

import java.util.List;

/**
 * The durable part of one replica's log, which the core only reads. The application writes to it
 * (the entries, hard state and snapshot of each {@link Ready}) before calling
 * {@link RaftNode#advance(Ready)}. The shared write-ahead log implements it in production;
 * {@link MemoryStorage} in tests.
 *
 * <p>Indexes: the log holds entries {@code [firstIndex(), lastIndex()]}; the entry before
 * {@code firstIndex()} is covered by the snapshot, whose term {@link #term(long)} still answers.
 */
public interface RaftStorage {
    /** Term, vote and commit as last made durable. */
    HardState initialHardState();

    /** Membership as of the last snapshot (the core replays later conf-change entries as it applies them). */
    ConfState initialConfState();

    /**
     * Entries {@code [lo, hi)}, stopping early once {@code maxBytes} is reached but always returning at
     * least one entry. Throws {@link LogCompactedException} if {@code lo < firstIndex()}.
     */
    List<Entry> entries(long lo, long hi, long maxBytes);

    /**
     * Term of the entry at {@code index}, for {@code firstIndex() - 1 <= index <= lastIndex()}.
     * Throws {@link LogCompactedException} below that range; returns 0 above it.
     */
    long term(long index);

    long firstIndex();

    long lastIndex();

    /** The most recent snapshot, or null if one is being made and is not available yet. */
    Snapshot snapshot();
}
