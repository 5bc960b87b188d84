package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.router.KeySpace;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.zip.CRC32C;

/**
 * A {@link KvStore} in memory, for the deterministic simulation and unit tests. Everything written
 * counts as durable (the state lives as long as the object, which a simulated restart keeps).
 * Each group has its own read-write lock: its one writer (the owning worker) commits a round under
 * the write lock, readers on any thread see whole rounds under the read lock; no lock is shared
 * between groups, so workers never contend.
 *
 * <p>Image format: magic {@code FKM1}, the apply state, the metadata records, the user keys (each
 * as a length-prefixed byte string), then the CRC32C of everything before it.
 */
public final class MemoryKvStore implements KvStore {
    public static final int DEFAULT_MAX_GROUPS = 4096;
    private static final int IMAGE_MAGIC = 0x464b4d31;
    private static final Comparator<ByteString> KEY_ORDER = KeySpace::compare;

    /** One group's state. */
    private static final class Group {
        final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
        final TreeMap<ByteString, ByteString> data = new TreeMap<>(KEY_ORDER);
        final TreeMap<ByteString, ByteString> meta = new TreeMap<>(KEY_ORDER);
        ApplyState applyState;

        Group(ApplyState applyState) {
            this.applyState = applyState;
        }
    }

    private final int maxGroups;
    private final ConcurrentHashMap<Long, Group> groups = new ConcurrentHashMap<>();

    public MemoryKvStore() {
        this(DEFAULT_MAX_GROUPS);
    }

    public MemoryKvStore(int maxGroups) {
        if (maxGroups <= 0) {
            throw new IllegalArgumentException("maxGroups must be positive, was " + maxGroups);
        }
        this.maxGroups = maxGroups;
    }

    @Override
    public synchronized void createGroups(List<ApplyState> initial) {
        List<ApplyState> missing = new ArrayList<>();
        for (ApplyState s : initial) {
            if (!groups.containsKey(s.groupId())) {
                missing.add(s);
            }
        }
        if (groups.size() + missing.size() > maxGroups) {
            throw new GroupLimitException(groups.size(), missing.size(), maxGroups);
        }
        for (ApplyState s : missing) {
            groups.put(s.groupId(), new Group(s));
        }
    }

    @Override
    public void dropGroup(long groupId) {
        groups.remove(groupId);
    }

    @Override
    public List<Long> groupIds() {
        List<Long> ids = new ArrayList<>(groups.keySet());
        ids.sort(null);
        return ids;
    }

    @Override
    public ApplyState applyState(long groupId) {
        Group g = groups.get(groupId);
        if (g == null) {
            return null;
        }
        g.lock.readLock().lock();
        try {
            return g.applyState;
        } finally {
            g.lock.readLock().unlock();
        }
    }

    @Override
    public long durableIndex(long groupId) {
        ApplyState s = applyState(groupId);
        return s == null ? 0 : s.appliedIndex();
    }

    @Override
    public long approximateBytes(long groupId) {
        Group g = groups.get(groupId);
        if (g == null) {
            return 0;
        }
        g.lock.readLock().lock();
        try {
            long bytes = 0;
            for (Map.Entry<ByteString, ByteString> e : g.data.entrySet()) {
                bytes += e.getKey().size() + e.getValue().size();
            }
            return bytes;
        } finally {
            g.lock.readLock().unlock();
        }
    }

    @Override
    public ByteString middleKey(long groupId) {
        Group g = groups.get(groupId);
        if (g == null) {
            return null;
        }
        long half = approximateBytes(groupId) / 2;
        g.lock.readLock().lock();
        try {
            if (g.data.size() < 2) {
                return null;
            }
            long bytes = 0;
            for (Map.Entry<ByteString, ByteString> e : g.data.entrySet()) {
                bytes += e.getKey().size() + e.getValue().size();
                if (bytes >= half && !e.getKey().equals(g.data.firstKey())) {
                    return e.getKey();
                }
            }
            return g.data.lastKey();
        } finally {
            g.lock.readLock().unlock();
        }
    }

    @Override
    public void requestDurable(long groupId) {
        // Always durable.
    }

    @Override
    public ByteString get(long groupId, ByteString key) {
        ReadResult r = read(groupId, key);
        return r == null ? null : r.value();
    }

    @Override
    public ReadResult read(long groupId, ByteString key) {
        Group g = groups.get(groupId);
        if (g == null) {
            return null;
        }
        g.lock.readLock().lock();
        try {
            return new ReadResult(g.data.get(key), g.applyState);
        } finally {
            g.lock.readLock().unlock();
        }
    }

    @Override
    public ScanPage scan(long groupId, ByteString start, ByteString end, int maxKeys, long maxBytes, boolean keysOnly) {
        Group g = groups.get(groupId);
        if (g == null) {
            return null;
        }
        g.lock.readLock().lock();
        try {
            NavigableMap<ByteString, ByteString> view = within(g.data, start, end);
            List<KeyValue> entries = new ArrayList<>();
            long bytes = 0;
            for (Map.Entry<ByteString, ByteString> e : view.entrySet()) {
                long size = e.getKey().size() + (keysOnly ? 0 : e.getValue().size());
                if (entries.size() == maxKeys || (!entries.isEmpty() && bytes + size > maxBytes)) {
                    return new ScanPage(entries, true, e.getKey(), g.applyState);
                }
                KeyValue.Builder kv = KeyValue.newBuilder().setKey(e.getKey());
                if (!keysOnly) {
                    kv.setValue(e.getValue());
                }
                entries.add(kv.build());
                bytes += size;
            }
            return new ScanPage(entries, false, ByteString.EMPTY, g.applyState);
        } finally {
            g.lock.readLock().unlock();
        }
    }

    /** The keys of {@code data} in {@code [start, end)} (empty end: no bound), as a live view. */
    private static NavigableMap<ByteString, ByteString> within(TreeMap<ByteString, ByteString> data, ByteString start,
            ByteString end) {
        if (end.isEmpty()) {
            return data.tailMap(start, true);
        }
        // An interval that ends before it starts is empty (subMap would refuse it).
        return KeySpace.compare(start, end) >= 0 ? new TreeMap<>(KEY_ORDER) : data.subMap(start, true, end, false);
    }

    @Override
    public void forEachMeta(long groupId, ByteString prefix, BiConsumer<ByteString, ByteString> visitor) {
        Group g = groups.get(groupId);
        if (g == null) {
            return;
        }
        List<Map.Entry<ByteString, ByteString>> found = new ArrayList<>();
        g.lock.readLock().lock();
        try {
            for (Map.Entry<ByteString, ByteString> e : g.meta.tailMap(prefix, true).entrySet()) {
                if (!e.getKey().startsWith(prefix)) {
                    break;
                }
                found.add(e);
            }
        } finally {
            g.lock.readLock().unlock();
        }
        for (Map.Entry<ByteString, ByteString> e : found) {
            visitor.accept(e.getKey(), e.getValue());
        }
    }

    @Override
    public GroupWrite beginWrite(long groupId) {
        Group g = groups.get(groupId);
        if (g == null) {
            throw new IllegalStateException("range " + groupId + " has no state in this store to write to");
        }
        return new MemoryWrite(g);
    }

    /** A round's writes, buffered until commit. */
    private static final class MemoryWrite implements GroupWrite {
        private final Group group;
        private final List<Consumer<Group>> ops = new ArrayList<>();

        MemoryWrite(Group group) {
            this.group = group;
        }

        @Override
        public void put(ByteString key, ByteString value) {
            ops.add(g -> g.data.put(key, value));
        }

        @Override
        public void delete(ByteString key) {
            ops.add(g -> g.data.remove(key));
        }

        @Override
        public void deleteRange(ByteString start, ByteString end) {
            ops.add(g -> within(g.data, start, end).clear());
        }

        @Override
        public void putMeta(ByteString key, ByteString value) {
            ops.add(g -> g.meta.put(key, value));
        }

        @Override
        public void deleteMeta(ByteString key) {
            ops.add(g -> g.meta.remove(key));
        }

        @Override
        public void commit(ApplyState state) {
            group.lock.writeLock().lock();
            try {
                for (Consumer<Group> op : ops) {
                    op.accept(group);
                }
                group.applyState = state;
            } finally {
                group.lock.writeLock().unlock();
            }
            ops.clear();
        }

        @Override
        public void close() {
            ops.clear();
        }
    }

    /**
     * Copies the parent's keys inside the child's range and all its metadata records into a new
     * group. All at once under the store's monitor, so no split leaves a child half made here; a
     * group that looks so (its apply state names another range) is made again all the same.
     */
    @Override
    public synchronized ApplyState split(long parentId, ApplyState childState) {
        long childId = childState.groupId();
        if (childId == parentId) {
            throw new IllegalArgumentException("range " + parentId + " cannot be split into itself");
        }
        ApplyState existing = applyState(childId);
        if (existing != null && existing.groupId() == childId) {
            return existing;
        }
        Group parent = groups.get(parentId);
        if (parent == null) {
            throw new IllegalStateException("range " + parentId + " has no state in this store to split");
        }
        if (existing == null && groups.size() >= maxGroups) {
            throw new GroupLimitException(groups.size(), 1, maxGroups);
        }
        Group child = new Group(childState);
        parent.lock.readLock().lock();
        try {
            child.meta.putAll(parent.meta);
            child.data.putAll(within(parent.data, childState.descriptor().getStartKey(),
                    childState.descriptor().getEndKey()));
        } finally {
            parent.lock.readLock().unlock();
        }
        groups.put(childId, child);
        return childState;
    }

    @Override
    public synchronized List<Long> dropUnfinishedSplits() {
        List<Long> unfinished = new ArrayList<>();
        for (long groupId : groupIds()) {
            if (applyState(groupId).groupId() != groupId) {
                groups.remove(groupId);
                unfinished.add(groupId);
            }
        }
        return unfinished;
    }

    @Override
    public SnapshotSource.Reader exportImage(long groupId) {
        Group g = groups.get(groupId);
        if (g == null) {
            throw new IllegalStateException("range " + groupId + " has no state in this store to export");
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            g.lock.readLock().lock();
            try {
                out.writeInt(IMAGE_MAGIC);
                writeBytes(out, ByteString.copyFrom(g.applyState.encode()));
                writeMap(out, g.meta);
                writeMap(out, g.data);
            } finally {
                g.lock.readLock().unlock();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes.toByteArray());
        bytes.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return SnapshotSource.ofBytes(bytes.toByteArray());
    }

    private static void writeMap(DataOutputStream out, TreeMap<ByteString, ByteString> map) throws IOException {
        out.writeInt(map.size());
        for (Map.Entry<ByteString, ByteString> e : map.entrySet()) {
            writeBytes(out, e.getKey());
            writeBytes(out, e.getValue());
        }
    }

    private static void writeBytes(DataOutputStream out, ByteString b) throws IOException {
        out.writeInt(b.size());
        b.writeTo(out);
    }

    @Override
    public ApplyState importImage(long groupId, Path image) throws IOException {
        return importImage(groupId, Files.readAllBytes(image), image.toString());
    }

    /**
     * As {@link #importImage(long, Path)}, from an image in memory ({@link #exportImage}'s bytes):
     * the simulation keeps its images and durable copies in memory. {@code source} names the image
     * in error messages.
     */
    public ApplyState importImage(long groupId, byte[] bytes, String source) throws IOException {
        String image = source;
        if (bytes.length < 8) {
            throw new IOException(image + " is too short (" + bytes.length + " bytes) to be a range image");
        }
        CRC32C crc = new CRC32C();
        crc.update(bytes, 0, bytes.length - 4);
        if ((int) crc.getValue() != ByteBuffer.wrap(bytes, bytes.length - 4, 4).getInt()) {
            throw new IOException(image + " fails its CRC32C: it is damaged or incomplete");
        }
        Group imported;
        try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes, 0, bytes.length - 4))) {
            if (in.readInt() != IMAGE_MAGIC) {
                throw new IOException(image + " is not an image of a memory store");
            }
            imported = new Group(ApplyState.decode(readBytes(in).toByteArray()));
            readMap(in, imported.meta);
            readMap(in, imported.data);
        } catch (EOFException | IllegalArgumentException e) {
            throw new IOException(image + " is not a whole range image: " + e.getMessage(), e);
        }
        if (imported.applyState.groupId() != groupId) {
            throw new IOException(image + " is an image of range " + imported.applyState.groupId() + ", not " + groupId);
        }
        synchronized (this) {
            if (!groups.containsKey(groupId) && groups.size() >= maxGroups) {
                throw new GroupLimitException(groups.size(), 1, maxGroups);
            }
            groups.put(groupId, imported);
        }
        return imported.applyState;
    }

    private static void readMap(DataInputStream in, TreeMap<ByteString, ByteString> map) throws IOException {
        for (int n = in.readInt(); n > 0; n--) {
            map.put(readBytes(in), readBytes(in));
        }
    }

    private static ByteString readBytes(DataInputStream in) throws IOException {
        int size = in.readInt();
        if (size < 0 || size > in.available()) {
            throw new IOException("a length of " + size + " bytes runs past the end of the image");
        }
        return ByteString.copyFrom(in.readNBytes(size));
    }

    @Override
    public void close() {
    }
}
