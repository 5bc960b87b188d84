package io.flotilla.engine.rocks;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.ApplyState;
import io.flotilla.engine.kv.CrashPoints;
import io.flotilla.engine.rocks.RocksKvStore.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.RocksDBException;
import org.rocksdb.WriteBatch;

/**
 * Makes a split's child family from the parent's ({@link RocksKvStore#split}) and drops the
 * children a crash left half made ({@link RocksKvStore#dropUnfinishedSplits}). Stateless: it works
 * on the store's database and column-family registry, which it changes only under the store's
 * {@link RocksKvStore#creation} monitor, as the store's own creation and drop do. Called by the
 * parent's worker (a split) and at start (the drop).
 */
final class RocksSplits {
    private RocksSplits() {
    }

    /**
     * Makes the child's family from the parent's: exports the parent's family (its memtable flushed,
     * its SST files hard-linked), imports the files as the child's family, then writes, in one batch
     * of the child's family, range deletions of the user keys outside the child's range and the
     * child's apply state, and flushes that family and waits. The child is thus durable when this
     * returns, although RocksDB's WAL is off: the parent's apply of the split (the child's keys
     * deleted, its range shortened) may become durable any time after, and a parent that has
     * forgotten its keys must not depend on a child that a crash could lose.
     *
     * <p>A crash before that flush completes leaves a family holding the parent's files and apply
     * state under the child's name; {@link #dropUnfinished} drops it at the next start, and
     * this call, finding it, drops it too and starts again. Space held by the deleted keys comes
     * back with compaction.
     */
    static ApplyState split(RocksKvStore store, long parentId, ApplyState childState) {
        long childId = childState.groupId();
        if (childId == parentId) {
            throw new IllegalArgumentException("range " + parentId + " cannot be split into itself");
        }
        synchronized (store.creation) {
            Family existing = store.groups.get(childId);
            if (existing != null) {
                if (existing.applyState.groupId() == childId) {
                    return existing.applyState;
                }
                RocksKvStore.LOG.log(System.Logger.Level.INFO, "range " + childId + " holds a split of range " + parentId
                        + " that a crash left half made; making it again");
                store.dropGroup(childId);
            }
            store.requireRoomForOneMore();
            Family parent = store.family(parentId);
            int generation = existing == null ? 0 : existing.generation + 1;
            Path dir = store.tempDirectory("split", childId);
            try {
                Files.createDirectories(dir);
                ColumnFamilyHandle handle = ImageDatabase.export(store.db, parent.handle, dir.resolve("sst"),
                        files -> store.importFamily(childId, generation, files));
                CrashPoints.reach(CrashPoints.SPLIT_CHILD_IMPORTED);
                // Its durable index is right once the flush below is done; until then it is not registered.
                Family child = new Family(childId, generation, handle, childState, childState.appliedIndex());
                try {
                    keepOnlyTheChildsRange(store, child, childState);
                } catch (RocksDBException | RuntimeException e) {
                    try {
                        store.closeFamily(child, true);
                    } catch (RuntimeException dropFailure) {
                        // The next start drops it: its apply state is still the parent's.
                        e.addSuppressed(dropFailure);
                    }
                    throw e;
                }
                store.register(child);
                return childState;
            } catch (RocksDBException | IOException e) {
                throw new RocksStoreException("cannot split range " + childId + " off range " + parentId + ": "
                        + e.getMessage(), e);
            } finally {
                DirectoryImage.deleteRecursively(dir);
            }
        }
    }

    /** The child's batch of {@link #split} and its flush; the flush listener ignores the family, which is not registered yet. */
    private static void keepOnlyTheChildsRange(RocksKvStore store, Family child, ApplyState state) throws RocksDBException {
        ByteString start = state.descriptor().getStartKey();
        ByteString end = state.descriptor().getEndKey();
        try (WriteBatch batch = new WriteBatch()) {
            if (!start.isEmpty()) {
                batch.deleteRange(child.handle, RocksKeys.DATA_START, RocksKeys.data(start));
            }
            if (!end.isEmpty()) {
                batch.deleteRange(child.handle, RocksKeys.data(end), RocksKeys.DATA_END);
            }
            batch.put(child.handle, RocksKeys.APPLY_STATE, state.encode());
            store.db.write(store.resources.writeOptions, batch);
        }
        CrashPoints.reach(CrashPoints.SPLIT_CHILD_WRITTEN);
        store.db.flush(store.resources.waitingFlush, child.handle);
    }

    /**
     * Drops every family whose apply state names another range than the one it is named for: a
     * split that a crash interrupted between the import and the flush of the child ({@link #split}).
     */
    static List<Long> dropUnfinished(RocksKvStore store) {
        List<Long> unfinished = new ArrayList<>();
        for (Family f : store.groups.values()) {
            if (f.applyState.groupId() != f.groupId) {
                unfinished.add(f.groupId);
            }
        }
        unfinished.sort(null);
        for (long groupId : unfinished) {
            RocksKvStore.LOG.log(System.Logger.Level.INFO, "range " + groupId + " holds a split of range "
                    + store.applyState(groupId).groupId() + " that a crash left half made; dropping it");
            store.dropGroup(groupId);
        }
        return unfinished;
    }
}
