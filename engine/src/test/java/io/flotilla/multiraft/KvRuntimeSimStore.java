package io.flotilla.multiraft;

import com.google.protobuf.ByteString;
import io.flotilla.engine.kv.ApplyState;
import io.flotilla.engine.kv.KvStore;
import io.flotilla.engine.kv.MemoryKvStore;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiConsumer;

/**
 * One node incarnation's {@link KvStore} in the key-value runtime simulation: a
 * {@link MemoryKvStore} holds what was written, and a durable copy per group models RocksDB with its
 * WAL off. A group's state becomes durable only when it is flushed — at seeded times
 * ({@link #flushAll}, which the simulation calls as a memtable flush would happen), shortly after
 * {@link #requestDurable}, when it is created (also by a split), and when an image is imported — and
 * {@link #durableIndex} is the applied index of that copy. A crashed node restarts from the durable
 * copies only ({@link #recover}): whatever it applied after its last flush is gone, and its log
 * replays it. Flushes are atomic per group, as a column family's flush is. Every committed round is
 * reported to the {@link Observer}. Received snapshot images are read from the node's simulated
 * snapshot channel. Owned by the seed's thread.
 */
final class KvRuntimeSimStore implements KvStore {
    /** Sees every round a group commits here, and the state a split starts a group with. */
    interface Observer {
        /**
         * {@code node} committed a round of {@code groupId} ending at {@code state}; {@code puts} are the
         * user values it wrote, in order; {@code image} is the group's whole state after the round. A
         * split reports the child it makes as a round without puts (its keys were written in the
         * parent's rounds), so replicas that split alike are compared there too.
         */
        void committed(long node, long groupId, ApplyState state, List<ByteString> puts, byte[] image);
    }

    /** A group's state as a flush left it: the image and the apply state it holds. */
    private record Durable(byte[] image, ApplyState state) {
        long appliedIndex() {
            return state.appliedIndex();
        }
    }

    private final long node;
    private final MemoryKvStore live = new MemoryKvStore();
    /** Durable copies by group (sorted: recovery imports them in one order). */
    private final TreeMap<Long, Durable> durable = new TreeMap<>();
    private final Observer observer;
    /** Where received snapshot images are read; null when the seed runs without snapshots. */
    private final RuntimeSimSnapshots images;
    /** Schedules the flush a {@link #requestDurable} asks for; it runs only if the store is still live. */
    private final BiConsumer<KvRuntimeSimStore, Long> flushSoon;
    /** False once the incarnation crashed (or closed and was replaced): its pending flushes do nothing. */
    private boolean alive = true;
    long flushes;
    long requestedFlushes;

    KvRuntimeSimStore(long node, Observer observer, RuntimeSimSnapshots images, BiConsumer<KvRuntimeSimStore, Long> flushSoon) {
        this.node = node;
        this.observer = observer;
        this.images = images;
        this.flushSoon = flushSoon;
    }

    /** What a restart after a crash finds: {@code crashed}'s durable copies, which now hold the state. */
    static KvRuntimeSimStore recover(KvRuntimeSimStore crashed) {
        crashed.alive = false;
        KvRuntimeSimStore s = new KvRuntimeSimStore(crashed.node, crashed.observer, crashed.images, crashed.flushSoon);
        for (Map.Entry<Long, Durable> e : crashed.durable.entrySet()) {
            try {
                s.live.importImage(e.getKey(), e.getValue().image(), "the durable copy of range " + e.getKey());
            } catch (IOException ex) {
                throw new UncheckedIOException(ex);
            }
            s.durable.put(e.getKey(), e.getValue());
        }
        return s;
    }

    long nodeId() {
        return node;
    }

    /** False once its node crashed and restarted from the durable copies (or closed and restarted without them). */
    boolean isLive() {
        return alive;
    }

    /** Makes every group's written state durable (a flush of every column family). */
    void flushAll() {
        for (long groupId : live.groupIds()) {
            flush(groupId);
        }
    }

    /** Makes the group's written state durable (a flush of its column family). */
    void flush(long groupId) {
        ApplyState state = live.applyState(groupId);
        if (state == null || !alive) {
            return;
        }
        Durable d = durable.get(groupId);
        if (d != null && d.appliedIndex() == state.appliedIndex()) {
            return;
        }
        persist(groupId, state);
    }

    private void persist(long groupId, ApplyState state) {
        durable.put(groupId, new Durable(image(groupId), state));
        flushes++;
    }

    /** The group's whole state as {@link MemoryKvStore#exportImage} writes it. */
    byte[] image(long groupId) {
        try (SnapshotSource.Reader reader = live.exportImage(groupId)) {
            ByteBuffer b = ByteBuffer.allocate((int) reader.totalBytes());
            reader.read(0, b);
            return b.array();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void createGroups(List<ApplyState> initial) {
        List<Long> created = new ArrayList<>();
        for (ApplyState s : initial) {
            if (live.applyState(s.groupId()) == null) {
                created.add(s.groupId());
            }
        }
        live.createGroups(initial);
        for (long groupId : created) {
            flush(groupId);
        }
    }

    /** Dropping a column family is durable at once (a manifest write). */
    @Override
    public void dropGroup(long groupId) {
        live.dropGroup(groupId);
        durable.remove(groupId);
    }

    @Override
    public List<Long> groupIds() {
        return live.groupIds();
    }

    @Override
    public ApplyState applyState(long groupId) {
        return live.applyState(groupId);
    }

    @Override
    public long durableIndex(long groupId) {
        Durable d = durable.get(groupId);
        return d == null ? 0 : d.appliedIndex();
    }

    @Override
    public long approximateBytes(long groupId) {
        return live.approximateBytes(groupId);
    }

    @Override
    public ByteString middleKey(long groupId) {
        return live.middleKey(groupId);
    }

    /** A flush soon, on a thread of RocksDB's own: returns at once. */
    @Override
    public void requestDurable(long groupId) {
        requestedFlushes++;
        flushSoon.accept(this, groupId);
    }

    @Override
    public ByteString get(long groupId, ByteString key) {
        return live.get(groupId, key);
    }

    @Override
    public ReadResult read(long groupId, ByteString key) {
        return live.read(groupId, key);
    }

    @Override
    public ScanPage scan(long groupId, ByteString start, ByteString end, int maxKeys, long maxBytes, boolean keysOnly) {
        return live.scan(groupId, start, end, maxKeys, maxBytes, keysOnly);
    }

    @Override
    public void forEachMeta(long groupId, ByteString prefix, BiConsumer<ByteString, ByteString> visitor) {
        live.forEachMeta(groupId, prefix, visitor);
    }

    @Override
    public GroupWrite beginWrite(long groupId) {
        GroupWrite write = live.beginWrite(groupId);
        List<ByteString> puts = new ArrayList<>();
        return new GroupWrite() {
            @Override
            public void put(ByteString key, ByteString value) {
                puts.add(value);
                write.put(key, value);
            }

            @Override
            public void delete(ByteString key) {
                write.delete(key);
            }

            @Override
            public void deleteRange(ByteString start, ByteString end) {
                write.deleteRange(start, end);
            }

            @Override
            public void putMeta(ByteString key, ByteString value) {
                write.putMeta(key, value);
            }

            @Override
            public void deleteMeta(ByteString key) {
                write.deleteMeta(key);
            }

            @Override
            public void commit(ApplyState state) {
                write.commit(state);
                observer.committed(node, groupId, state, List.copyOf(puts), image(groupId));
                puts.clear();
            }

            @Override
            public void close() {
                write.close();
            }
        };
    }

    @Override
    public SnapshotSource.Reader exportImage(long groupId) {
        return live.exportImage(groupId);
    }

    /** Reads a received image from the simulated channel; the imported state is durable when this returns. */
    @Override
    public ApplyState importImage(long groupId, Path image) throws IOException {
        if (images == null) {
            throw new IOException("node " + node + " has no snapshot channel, so it received no image " + image);
        }
        ApplyState state = live.importImage(groupId, images.image(image), image.toString());
        flush(groupId);
        return state;
    }

    /**
     * The child is made in the live store and made durable at once, as the RocksDB store's flush of
     * the child's family does before its split returns. The parent's durable copy stays where it
     * was (RocksDB's export flushes the parent too): an older durable parent only makes the parent
     * replay more of its log, the split included, which must then find the child made.
     */
    @Override
    public ApplyState split(long parentId, ApplyState childState) {
        long childId = childState.groupId();
        ApplyState before = live.applyState(childId);
        ApplyState state = live.split(parentId, childState);
        if (before == null || before.groupId() != childId) {
            persist(childId, state);
            observer.committed(node, childId, state, List.of(), image(childId));
        }
        return state;
    }

    /**
     * Over the durable copies, which are what a restart finds. A split here makes its child whole
     * and durable in one step, so no copy is ever half made (nor could {@link #recover} import one:
     * an image is imported only as the range it names); this keeps the contract all the same.
     */
    @Override
    public List<Long> dropUnfinishedSplits() {
        List<Long> unfinished = new ArrayList<>();
        for (Map.Entry<Long, Durable> e : durable.entrySet()) {
            if (e.getValue().state().groupId() != e.getKey()) {
                unfinished.add(e.getKey());
            }
        }
        for (long groupId : unfinished) {
            dropGroup(groupId);
        }
        return unfinished;
    }

    @Override
    public void close() {
        live.close();
    }
}
