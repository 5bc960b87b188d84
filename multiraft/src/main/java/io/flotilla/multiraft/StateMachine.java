package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The replicated state machine of every group a node hosts (the engine implements it with RocksDB,
 * one column family per group). Called only by worker threads; a worker calls it for the groups it
 * owns, so implementations may share state across groups only if that state is thread-safe.
 */
public interface StateMachine {
    /**
     * Applies committed entries of several groups in one call (one round of one worker): for each
     * group, entries are consecutive and follow what it applied before. Entries with empty data are a
     * new leader's no-ops; conf-change entries are passed too (the Raft core has already applied them).
     */
    void apply(ApplyBatch batch);

    /** The last index applied for {@code groupId} (0 if none): where a restarted replica resumes. */
    long appliedIndex(long groupId);

    /**
     * The applied index whose state survives a crash of this node (0 if none): the runtime compacts
     * the group's log only up to it, since a restart resumes from there. An implementation that
     * keeps its state in memory returns 0 and the log keeps every entry.
     */
    long durableIndex(long groupId);

    /**
     * A consistent image of {@code groupId}'s state as of {@link #appliedIndex(long)}, captured now
     * (on the worker thread) and read later by the snapshot channel's I/O thread, which never
     * closes it: the runtime does once no transfer needs it.
     */
    SnapshotSource.Reader snapshot(long groupId);

    /**
     * Drops everything of {@code groupId}: its replica on this node was removed, and the tombstone
     * that keeps it removed is durable in the log. Must be idempotent: it is called again for every
     * tombstoned group each time the node starts, so that a crash between the tombstone and the drop
     * never leaks the group's state (a group that was never known is simply nothing to drop).
     */
    void destroy(long groupId);

    /**
     * Replaces {@code groupId}'s state with the image in {@code image} (as {@link #snapshot} made it
     * on another node); afterwards {@link #appliedIndex} is {@code snapshot.index()}. The runtime
     * keeps the file until {@link #durableIndex} reaches that index.
     *
     * @throws IOException if the image cannot be read or is not one this state machine made
     */
    void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException;

    /**
     * The shared log would like to delete a segment that {@code groupId} still pins because its
     * {@link #durableIndex} lags {@link #appliedIndex}: make the group's applied state durable soon
     * (the RocksDB state machine flushes the group's column family). Must return at once, without
     * I/O on the worker; the log compacts once {@link #durableIndex} moves. Called on the group's
     * worker, at most once per log sweep per group.
     */
    default void requestDurable(long groupId) {
    }

    /** One round's committed entries, grouped by group; reused by the worker from round to round. */
    final class ApplyBatch {
        private final long[] groupIds;
        private final List<List<Entry>> entries;
        private int size;

        ApplyBatch(int capacity) {
            this.groupIds = new long[capacity];
            this.entries = new ArrayList<>(capacity);
            for (int i = 0; i < capacity; i++) {
                entries.add(null);
            }
        }

        void clear() {
            for (int i = 0; i < size; i++) {
                entries.set(i, null);
            }
            size = 0;
        }

        boolean add(long groupId, List<Entry> committed) {
            if (committed.isEmpty()) {
                return false;
            }
            groupIds[size] = groupId;
            entries.set(size, committed);
            size++;
            return true;
        }

        public int size() {
            return size;
        }

        public long groupId(int i) {
            return groupIds[i];
        }

        public List<Entry> entries(int i) {
            return entries.get(i);
        }

        boolean isFull() {
            return size == groupIds.length;
        }
    }
}
