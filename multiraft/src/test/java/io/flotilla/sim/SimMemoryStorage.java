package io.flotilla.sim;

import io.flotilla.raft.ConfState;
import io.flotilla.raft.Entry;
import io.flotilla.raft.HardState;
import io.flotilla.raft.MemoryStorage;
import io.flotilla.raft.RaftStorage;
import io.flotilla.raft.Snapshot;
import java.util.List;

/**
 * A replica's durable storage held in a {@link MemoryStorage}: the simulation's default disk, which
 * survives a crash simply by being kept. Owned by the single thread that runs the seed.
 */
final class SimMemoryStorage implements SimStorage {
    private final MemoryStorage storage;

    SimMemoryStorage(MemoryStorage storage) {
        this.storage = storage;
    }

    @Override
    public RaftStorage raft() {
        return storage;
    }

    @Override
    public long snapshotIndex() {
        return storage.snapshot().metadata().index();
    }

    @Override
    public void persist(Snapshot snapshot, List<Entry> entries, HardState hardState) {
        if (snapshot != null) {
            storage.applySnapshot(snapshot);
        }
        if (!entries.isEmpty()) {
            storage.append(entries);
        }
        if (hardState != null) {
            storage.setHardState(hardState);
        }
    }

    @Override
    public void snapshotAndCompact(long index, ConfState confState, byte[] data, long compactTo) {
        storage.createSnapshot(index, confState, data);
        if (compactTo >= storage.firstIndex()) {
            storage.compact(compactTo);
        }
    }
}
