package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Where a node keeps the state of its groups: per group, the user keys, a few metadata records (the
 * client sessions) and the apply state, written together atomically once per group per worker
 * round. {@link MemoryKvStore} serves the deterministic simulation and unit tests; the RocksDB store
 * keeps each group in its own column family.
 *
 * <p>Threads: a group is written ({@link #beginWrite}, {@link #importImage}, {@link #dropGroup},
 * {@link #exportImage}) only by the worker that owns it, and workers write different groups at once;
 * {@link #read}, {@link #scan}, {@link #applyState}, {@link #groupIds} and {@link #durableIndex} are
 * safe from any thread. {@link #createGroups} runs before the groups' workers touch them.
 */
public interface KvStore extends AutoCloseable {
    /**
     * Creates storage for every group of {@code initial} that has none, each with its apply state,
     * in one step (the RocksDB store creates all column families in one call), and makes those apply
     * states durable. Groups that already have state are left as they are.
     *
     * @throws GroupLimitException if the store would hold more groups than its cap; then none is created
     */
    void createGroups(List<ApplyState> initial);

    /** Drops everything of {@code groupId}; nothing to do if it has no state (idempotent). */
    void dropGroup(long groupId);

    /** Every group with state in this store. */
    List<Long> groupIds();

    /** The group's apply state as last written (not necessarily durable), or null if it has no state. */
    ApplyState applyState(long groupId);

    /** The applied index of the group's state that survives a crash of the process (0 if none). */
    long durableIndex(long groupId);

    /**
     * Asks for the group's written state to become durable soon (the shared log wants to shed a
     * segment the group pins). Returns at once; {@link #durableIndex} moves when it is done.
     */
    void requestDurable(long groupId);

    /** The latest written value of a user key, or null (for the apply path, on the owning worker). */
    ByteString get(long groupId, ByteString key);

    /** A user key's value and the applied index it was read at, from one consistent view; null if the group has no state. */
    ReadResult read(long groupId, ByteString key);

    /**
     * User keys in {@code [start, end)} (empty end: no bound) in key order from one consistent view,
     * at most {@code maxKeys} of them and no more than {@code maxBytes} of keys and values (but at
     * least one); null if the group has no state.
     */
    ScanPage scan(long groupId, ByteString start, ByteString end, int maxKeys, long maxBytes, boolean keysOnly);

    /**
     * About how many bytes the group's user keys and values take (RocksDB: its estimate from file
     * and memtable statistics, which counts keys a split dropped until compaction removes them);
     * 0 if the group has no state. Any thread.
     */
    long approximateBytes(long groupId);

    /**
     * The user key at about half of the group's bytes (keys and values, in key order): where a split
     * by size cuts it. Null if the group has fewer than two keys or no state. Reads the group's keys
     * up to that point; any thread, off the apply path.
     */
    ByteString middleKey(long groupId);

    /** Visits the group's metadata records whose key starts with {@code prefix}, in key order (owning worker). */
    void forEachMeta(long groupId, ByteString prefix, BiConsumer<ByteString, ByteString> visitor);

    /** Starts the writes of one round for a group that has state (owning worker). */
    GroupWrite beginWrite(long groupId);

    /**
     * Starts the writes of one worker round across the groups it applies: each group's part is
     * atomic with its apply state as with {@link #beginWrite}, and {@link RoundWrite#commit} writes
     * every part at once (RocksDB: one WriteBatch and one write per worker round instead of one per
     * group; each group's part still lies in its own column family, so it stays whole across a crash).
     * This default writes each group's part when it is committed.
     */
    default RoundWrite beginRound() {
        return new RoundWrite() {
            private final List<GroupWrite> parts = new java.util.ArrayList<>();

            @Override
            public GroupWrite group(long groupId) {
                GroupWrite w = beginWrite(groupId);
                parts.add(w);
                return w;
            }

            @Override
            public void commit() {
            }

            @Override
            public void close() {
                for (GroupWrite w : parts) {
                    w.close();
                }
            }
        };
    }

    /**
     * A consistent image of the group's whole state (keys, metadata, apply state) as last written,
     * captured now on the owning worker; read later from another thread, and closed by the caller,
     * which releases what it holds.
     */
    SnapshotSource.Reader exportImage(long groupId);

    /**
     * Replaces the group's state (if any) by the image in {@code image}, which {@link #exportImage}
     * made, here or on another node; the imported state is durable when this returns.
     *
     * @return the imported apply state
     * @throws IOException if the file is not a whole image of this store's kind
     * @throws GroupLimitException if the group is new and the store is full
     */
    ApplyState importImage(long groupId, Path image) throws IOException;

    /**
     * Creates group {@code childState.groupId()}'s state from group {@code parentId}'s state as
     * last written: the parent's user keys inside the child's interval, every metadata record (the
     * client sessions, so a retry of a write applied before the split still gets its answer), and
     * {@code childState} as apply state. The parent is left as it is (its apply removes the child's
     * keys). The child's state is durable when this returns. Runs on the parent's worker; the child
     * has no worker activity yet.
     *
     * <p>Idempotent, for a split applied again after a crash: if the child already holds state
     * for its own range, nothing is done and its apply state is returned. A child left half made by
     * a crash (its apply state not yet its own) is made again.
     *
     * @return the child's apply state
     * @throws GroupLimitException if the store is full
     */
    ApplyState split(long parentId, ApplyState childState);

    /**
     * Drops every group whose state is a split left half made by a crash (its apply state names
     * another range); returns their ids. The parent's log applies the split again. Call at start,
     * before any group is created.
     */
    List<Long> dropUnfinishedSplits();

    @Override
    void close();

    /** The writes of one group in one round, applied atomically by {@link #commit}. Owned by the worker. */
    interface GroupWrite extends AutoCloseable {
        void put(ByteString key, ByteString value);

        void delete(ByteString key);

        /** Deletes every user key in {@code [start, end)}; an empty {@code end} means no bound. */
        void deleteRange(ByteString start, ByteString end);

        void putMeta(ByteString key, ByteString value);

        void deleteMeta(ByteString key);

        /** Writes everything, with {@code state} as the group's new apply state, atomically. */
        void commit(ApplyState state);

        /** Releases the write; what was not committed is dropped. */
        @Override
        void close();
    }

    /**
     * The writes of one worker round across groups. {@link #group} gives a group's part (at most one
     * per group per round), whose {@link GroupWrite#commit} adds its apply state; {@link #commit}
     * writes every committed part; a part closed without commit is dropped. After {@link #commit}
     * each committed state is its group's {@link #applyState}. Owned by the worker.
     */
    interface RoundWrite extends AutoCloseable {
        GroupWrite group(long groupId);

        /** Writes every committed group part (at once, where the store can). */
        void commit();

        /** Releases the round; what was not written is dropped. */
        @Override
        void close();
    }

    /**
     * A read of one key: its value (null if absent) and the group's apply state in the same view
     * (the applied index it was read at, and the range the view held: a split may have moved the
     * key away since the request was checked).
     */
    record ReadResult(ByteString value, ApplyState state) {
        public long appliedIndex() {
            return state.appliedIndex();
        }
    }

    /**
     * One page of a scan, read in a view whose apply state is {@code state}. {@code more}: keys
     * remain before the scan's end, the next of them is {@code continuationKey}.
     */
    record ScanPage(List<KeyValue> entries, boolean more, ByteString continuationKey, ApplyState state) {
        public long appliedIndex() {
            return state.appliedIndex();
        }
    }
}
