package io.flotilla.sim;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Snapshot;
import java.util.List;

/**
 * The durable storage of one replica as the simulation writes it: what survives a crash. Two
 * implementations: {@link SimMemoryStorage} (a {@link io.flotilla.raft.MemoryStorage}, the default)
 * and {@link SimWalNode.GroupStorage} (one group of its node's real shared write-ahead log). Every
 * write is durable when the method returns; the simulation decides separately <em>when</em> it
 * calls them (after a simulated disk delay). Owned by the single thread that runs the seed.
 */
interface SimStorage {
    /** What the Raft core and the invariant checks read; for the WAL, a new object after every restart. */
    RaftStorage raft();

    /** Index of the latest snapshot (0 if none). */
    long snapshotIndex();

    /**
     * Makes one Ready's writes durable, in the Ready's order: a received snapshot (which replaces
     * the whole log), entries (overwriting any conflicting suffix), the hard state. Any may be
     * absent (null or empty).
     */
    void persist(Snapshot snapshot, List<Entry> entries, HardState hardState);

    /**
     * Records a snapshot of the state machine at the applied {@code index} (in the log), then
     * discards the entries up to {@code compactTo} if that is at or past the first index.
     */
    void snapshotAndCompact(long index, ConfState confState, byte[] data, long compactTo);
}
