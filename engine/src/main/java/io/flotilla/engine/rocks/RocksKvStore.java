package io.flotilla.engine.rocks;

import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import io.flotilla.engine.kv.ApplyState;
import io.flotilla.engine.kv.GroupLimitException;
import io.flotilla.engine.kv.KvStore;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.router.KeySpace;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.BiConsumer;
import org.rocksdb.AbstractEventListener;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ExportImportFilesMetaData;
import org.rocksdb.FlushJobInfo;
import org.rocksdb.ImportColumnFamilyOptions;
import org.rocksdb.Options;
import org.rocksdb.Range;
import org.rocksdb.ReadOptions;
import org.rocksdb.SizeApproximationFlag;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.Slice;
import org.rocksdb.Snapshot;
import org.rocksdb.WriteBatch;

/**
 * The {@link KvStore} of a node on RocksDB: one database per node, one column family per group
 * (named {@code g<group>.<generation>}; a restored snapshot, or a split child made again after a
 * crash, comes in as the next generation), the group's apply state and session records under a
 * reserved prefix of the same family ({@link RocksKeys}) and written in the same {@link WriteBatch}
 * as its keys. A split makes the child's family from hard links of the parent's ({@link RocksSplits});
 * a split by size cuts where {@link RocksMiddleKey} finds the middle of the range's bytes.
 * RocksDB's WAL is off:
 * the shared Raft log is the only write-ahead log, so a crash loses memtables and the log replays
 * them from each group's {@link #durableIndex}, which a flush listener advances by mapping the
 * flushed sequence number to the applied index ({@link FlushPoints}).
 *
 * <p>Threads: a group's writes, export, import and drop come from the worker that owns it (the
 * {@link KvStore} contract); reads may come from any thread and hold the group's guard (a
 * read-write lock of that group alone, which the apply path never takes) so its handle cannot be
 * closed under them. Column family creation is serialized on one monitor (it is rare and slow in
 * RocksDB anyway). One flusher thread serves {@link #requestDurable}; RocksDB's own threads run the
 * flush listener.
 */
public final class RocksKvStore implements KvStore {
    /** {@link RocksSplits} logs under the store's name too. */
    static final System.Logger LOG = System.getLogger(RocksKvStore.class.getName());

    /** An addition to a write batch, which RocksDB's JNI may refuse with its checked exception. */
    @FunctionalInterface
    private interface BatchOp {
        void run() throws RocksDBException;
    }

    /**
     * One group's column family: written by the group's worker, read under {@link #guard} by any
     * thread, its durable index advanced by RocksDB's flush threads.
     */
    static final class Family {
        final long groupId;
        final int generation;
        final String name;
        final ColumnFamilyHandle handle;
        /** Readers off the worker hold it to read; closing the handle needs it exclusively. */
        final ReentrantReadWriteLock guard = new ReentrantReadWriteLock();
        /** Guarded by {@link #guard}. */
        boolean closed;
        volatile ApplyState applyState;
        final AtomicLong durableIndex;
        final FlushPoints flushPoints = new FlushPoints();
        final AtomicBoolean flushQueued = new AtomicBoolean();

        Family(long groupId, int generation, ColumnFamilyHandle handle, ApplyState state, long durableIndex) {
            this.groupId = groupId;
            this.generation = generation;
            this.name = familyName(groupId, generation);
            this.handle = handle;
            this.applyState = state;
            this.durableIndex = new AtomicLong(durableIndex);
        }
    }

    /** Advances a family's durable index when RocksDB reports one of its flushes done; runs on RocksDB's flush threads. */
    private static final class FlushListener extends AbstractEventListener {
        private final Map<String, Family> byName;

        FlushListener(Map<String, Family> byName) {
            super(EnabledEventCallback.ON_FLUSH_COMPLETED);
            this.byName = byName;
        }

        @Override
        public void onFlushCompleted(RocksDB db, FlushJobInfo info) {
            Family f = byName.get(info.getColumnFamilyName());
            if (f != null) {
                long index = f.flushPoints.takeFlushed(info.getLargestSeqno());
                if (index >= 0) {
                    f.durableIndex.accumulateAndGet(index, Math::max);
                }
            }
        }
    }

    private final RocksConfig config;
    private final Map<String, Family> byName = new ConcurrentHashMap<>();
    /** Changed only under {@link #creation}. */
    final ConcurrentHashMap<Long, Family> groups = new ConcurrentHashMap<>();
    private final FlushListener listener;
    final RocksResources resources;
    final RocksDB db;
    private final List<ColumnFamilyHandle> otherHandles = new ArrayList<>();
    private final ExecutorService flusher;
    private final AtomicLong tempCounter = new AtomicLong();
    private final AtomicLong requestedFlushes = new AtomicLong();
    /** Serializes column family creation and drop, here and in {@link RocksSplits}. */
    final Object creation = new Object();
    private final long openMs;

    private RocksKvStore(RocksConfig config) throws IOException {
        this.config = config;
        long startNs = System.nanoTime();
        RocksNativeLibrary.load(config.libDirectory());
        Files.createDirectories(config.rocksDirectory());
        DirectoryImage.deleteRecursively(config.tempDirectory());
        this.listener = new FlushListener(byName);
        this.resources = new RocksResources(config, listener);
        String path = config.rocksDirectory().toString();
        List<byte[]> names = new ArrayList<>();
        if (Files.exists(config.rocksDirectory().resolve("CURRENT"))) {
            try (Options options = new Options()) {
                names.addAll(RocksDB.listColumnFamilies(options, path));
            } catch (RocksDBException e) {
                close(resources, listener);
                throw new IOException("cannot list the column families of " + path + ": " + e.getMessage(), e);
            }
        }
        if (names.stream().noneMatch(n -> Arrays.equals(n, RocksDB.DEFAULT_COLUMN_FAMILY))) {
            names.add(0, RocksDB.DEFAULT_COLUMN_FAMILY);
        }
        List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
        for (byte[] name : names) {
            descriptors.add(new ColumnFamilyDescriptor(name, resources.columnFamilyOptions));
        }
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try {
            this.db = RocksDB.open(resources.dbOptions, path, descriptors, handles);
        } catch (RocksDBException e) {
            close(resources, listener);
            throw new IOException("cannot open RocksDB in " + path + ": " + e.getMessage(), e);
        }
        try {
            adopt(names, handles);
        } catch (RocksDBException | RuntimeException e) {
            for (ColumnFamilyHandle h : handles) {
                h.close();
            }
            db.close();
            close(resources, listener);
            throw new IOException("cannot recover the ranges stored in " + path + ": " + e.getMessage(), e);
        }
        this.flusher = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "rocks-flusher");
            t.setDaemon(true);
            return t;
        });
        this.openMs = (System.nanoTime() - startNs) / 1_000_000;
    }

    /**
     * Opens (or creates) the store in {@code config.dataDirectory()}. A group whose family lacks an
     * apply state (its creation did not complete) is dropped; of two generations of one group (a
     * crash during a snapshot restore) the newer, which the import completed, is kept.
     */
    public static RocksKvStore open(RocksConfig config) throws IOException {
        return new RocksKvStore(config);
    }

    private void adopt(List<byte[]> names, List<ColumnFamilyHandle> handles) throws RocksDBException {
        Map<Long, Family> newest = new HashMap<>();
        List<ColumnFamilyHandle> stale = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            String name = new String(names.get(i), StandardCharsets.UTF_8);
            long[] parsed = parseFamilyName(name);
            ColumnFamilyHandle h = handles.get(i);
            if (parsed == null) {
                if (!Arrays.equals(names.get(i), RocksDB.DEFAULT_COLUMN_FAMILY)) {
                    LOG.log(System.Logger.Level.WARNING, "column family '" + name + "' in " + config.rocksDirectory()
                            + " belongs to no range; it is left alone");
                }
                otherHandles.add(h);
                continue;
            }
            byte[] state = db.get(h, RocksKeys.APPLY_STATE);
            if (state == null) {
                LOG.log(System.Logger.Level.INFO, "column family " + name + " has no apply state (its creation did not"
                        + " complete); dropping it");
                stale.add(h);
                continue;
            }
            ApplyState s = ApplyState.decode(state);
            Family f = new Family(parsed[0], (int) parsed[1], h, s, s.appliedIndex());
            Family other = newest.get(f.groupId);
            if (other == null || other.generation < f.generation) {
                newest.put(f.groupId, f);
                if (other != null) {
                    stale.add(other.handle);
                }
            } else {
                stale.add(h);
            }
        }
        for (ColumnFamilyHandle h : stale) {
            db.dropColumnFamily(h);
            h.close();
        }
        for (Family f : newest.values()) {
            byName.put(f.name, f);
            groups.put(f.groupId, f);
        }
    }

    static String familyName(long groupId, int generation) {
        return "g" + groupId + "." + generation;
    }

    /** {group, generation}, or null if {@code name} is not a group's family. */
    static long[] parseFamilyName(String name) {
        int dot = name.indexOf('.');
        if (!name.startsWith("g") || dot < 2) {
            return null;
        }
        try {
            return new long[] {Long.parseLong(name.substring(1, dot)), Integer.parseInt(name.substring(dot + 1))};
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** How long {@link #open} took, in ms (library load, RocksDB open, reading every apply state). */
    public long openMs() {
        return openMs;
    }

    @Override
    public void createGroups(List<ApplyState> initial) {
        synchronized (creation) {
            Map<Long, ApplyState> missing = new java.util.LinkedHashMap<>();
            for (ApplyState s : initial) {
                if (!groups.containsKey(s.groupId())) {
                    missing.putIfAbsent(s.groupId(), s);
                }
            }
            if (missing.isEmpty()) {
                return;
            }
            if (groups.size() + missing.size() > config.maxGroups()) {
                throw new GroupLimitException(groups.size(), missing.size(), config.maxGroups());
            }
            List<ColumnFamilyDescriptor> descriptors = new ArrayList<>();
            for (long groupId : missing.keySet()) {
                descriptors.add(new ColumnFamilyDescriptor(familyName(groupId, 0).getBytes(StandardCharsets.UTF_8),
                        resources.columnFamilyOptions));
            }
            List<ColumnFamilyHandle> handles;
            try {
                handles = db.createColumnFamilies(descriptors);
            } catch (RocksDBException e) {
                throw new RocksStoreException("cannot create " + descriptors.size() + " column families: " + e.getMessage(), e);
            }
            List<ApplyState> states = new ArrayList<>(missing.values());
            try (WriteBatch batch = new WriteBatch()) {
                for (int i = 0; i < handles.size(); i++) {
                    batch.put(handles.get(i), RocksKeys.APPLY_STATE, states.get(i).encode());
                }
                // The one write that goes through RocksDB's WAL, synced: the new ranges' descriptors
                // must survive a crash, and flushing a thousand fresh families one SST each takes
                // seconds. Reopen replays this small WAL into memtables (avoid_flush_during_recovery);
                // a family's first flush moves it past it.
                db.write(resources.syncedWalWrite, batch);
            } catch (RocksDBException e) {
                throw new RocksStoreException("cannot write the initial state of " + handles.size() + " ranges: "
                        + e.getMessage(), e);
            }
            for (int i = 0; i < handles.size(); i++) {
                ApplyState s = states.get(i);
                register(new Family(s.groupId(), 0, handles.get(i), s, s.appliedIndex()));
            }
        }
    }

    @Override
    public void dropGroup(long groupId) {
        synchronized (creation) {
            Family f = groups.remove(groupId);
            if (f != null) {
                byName.remove(f.name);
                closeFamily(f, true);
            }
        }
    }

    void closeFamily(Family f, boolean drop) {
        f.guard.writeLock().lock();
        try {
            if (f.closed) {
                return;
            }
            f.closed = true;
            if (drop) {
                db.dropColumnFamily(f.handle);
            }
        } catch (RocksDBException e) {
            throw new RocksStoreException("cannot drop column family " + f.name + ": " + e.getMessage(), e);
        } finally {
            f.handle.close();
            f.guard.writeLock().unlock();
        }
    }

    @Override
    public List<Long> groupIds() {
        List<Long> ids = new ArrayList<>(groups.keySet());
        ids.sort(null);
        return ids;
    }

    /** Column families of ranges in this store. */
    public int groupCount() {
        return groups.size();
    }

    @Override
    public ApplyState applyState(long groupId) {
        Family f = groups.get(groupId);
        return f == null ? null : f.applyState;
    }

    @Override
    public long durableIndex(long groupId) {
        Family f = groups.get(groupId);
        return f == null ? 0 : f.durableIndex.get();
    }

    @Override
    public void requestDurable(long groupId) {
        Family f = groups.get(groupId);
        if (f == null || !f.flushQueued.compareAndSet(false, true)) {
            return;
        }
        requestedFlushes.incrementAndGet();
        flusher.execute(() -> {
            f.flushQueued.set(false);
            flush(f);
        });
    }

    private void flush(Family f) {
        f.guard.readLock().lock();
        try {
            if (!f.closed) {
                db.flush(resources.waitingFlush, f.handle);
            }
        } catch (RocksDBException e) {
            LOG.log(System.Logger.Level.WARNING, "flush of range " + f.groupId + " failed; its log stays until a later"
                    + " flush: " + e.getMessage());
        } finally {
            f.guard.readLock().unlock();
        }
    }

    /** Flushes run for {@link #requestDurable} since the store opened. */
    public long requestedFlushes() {
        return requestedFlushes.get();
    }

    /**
     * Flushes the memtable of every range that applied something since its last flush, in one call,
     * and waits (a graceful shutdown shortens the next start's log replay). One call for all of
     * them: flushing 1,024 families one by one took ~25 s on this kind of machine.
     */
    public void flushAll() {
        List<Family> dirty = new ArrayList<>();
        try {
            for (Family f : groups.values()) {
                f.guard.readLock().lock();
                if (f.closed || f.durableIndex.get() >= f.applyState.appliedIndex()) {
                    f.guard.readLock().unlock();
                } else {
                    dirty.add(f);
                }
            }
            if (!dirty.isEmpty()) {
                List<ColumnFamilyHandle> handles = new ArrayList<>(dirty.size());
                for (Family f : dirty) {
                    handles.add(f.handle);
                }
                db.flush(resources.waitingFlush, handles);
            }
        } catch (RocksDBException e) {
            LOG.log(System.Logger.Level.WARNING, "flush of " + dirty.size() + " ranges failed; their logs stay until a later"
                    + " flush: " + e.getMessage());
        } finally {
            for (Family f : dirty) {
                f.guard.readLock().unlock();
            }
        }
    }

    @Override
    public long approximateBytes(long groupId) {
        Family f = groups.get(groupId);
        if (f == null) {
            return 0;
        }
        f.guard.readLock().lock();
        try (Slice start = new Slice(new byte[] {RocksKeys.DATA}); Slice limit = new Slice(RocksKeys.DATA_END)) {
            if (f.closed) {
                return 0;
            }
            return db.getApproximateSizes(f.handle, List.of(new Range(start, limit)), SizeApproximationFlag.INCLUDE_FILES,
                    SizeApproximationFlag.INCLUDE_MEMTABLES)[0];
        } finally {
            f.guard.readLock().unlock();
        }
    }

    /** See {@link RocksMiddleKey#find}. */
    @Override
    public ByteString middleKey(long groupId) {
        Family f = groups.get(groupId);
        return f == null ? null : RocksMiddleKey.find(db, f);
    }

    Family family(long groupId) {
        Family f = groups.get(groupId);
        if (f == null) {
            throw new IllegalStateException("range " + groupId + " has no column family in " + config.rocksDirectory());
        }
        return f;
    }

    @Override
    public ByteString get(long groupId, ByteString key) {
        try {
            byte[] value = db.get(family(groupId).handle, RocksKeys.data(key));
            return value == null ? null : UnsafeByteOperations.unsafeWrap(value);
        } catch (RocksDBException e) {
            throw new RocksStoreException("read of range " + groupId + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public ReadResult read(long groupId, ByteString key) {
        Family f = groups.get(groupId);
        if (f == null) {
            return null;
        }
        f.guard.readLock().lock();
        try {
            if (f.closed) {
                return null;
            }
            Snapshot snapshot = db.getSnapshot();
            try (ReadOptions options = new ReadOptions().setSnapshot(snapshot)) {
                byte[] state = db.get(f.handle, options, RocksKeys.APPLY_STATE);
                byte[] value = db.get(f.handle, options, RocksKeys.data(key));
                return new ReadResult(value == null ? null : UnsafeByteOperations.unsafeWrap(value),
                        ApplyState.decode(state));
            } finally {
                db.releaseSnapshot(snapshot);
            }
        } catch (RocksDBException e) {
            throw new RocksStoreException("read of range " + groupId + " failed: " + e.getMessage(), e);
        } finally {
            f.guard.readLock().unlock();
        }
    }

    @Override
    public ScanPage scan(long groupId, ByteString start, ByteString end, int maxKeys, long maxBytes, boolean keysOnly) {
        Family f = groups.get(groupId);
        if (f == null) {
            return null;
        }
        f.guard.readLock().lock();
        try {
            if (f.closed) {
                return null;
            }
            Snapshot snapshot = db.getSnapshot();
            try (Slice upper = new Slice(RocksKeys.dataEnd(end));
                    ReadOptions options = new ReadOptions().setSnapshot(snapshot).setIterateUpperBound(upper);
                    RocksIterator it = db.newIterator(f.handle, options)) {
                ApplyState state = ApplyState.decode(db.get(f.handle, options, RocksKeys.APPLY_STATE));
                List<KeyValue> entries = new ArrayList<>();
                long bytes = 0;
                for (it.seek(RocksKeys.data(start)); it.isValid(); it.next()) {
                    ByteString key = RocksKeys.userKey(it.key());
                    byte[] value = keysOnly ? null : it.value();
                    long size = key.size() + (keysOnly ? 0 : value.length);
                    if (entries.size() == maxKeys || (!entries.isEmpty() && bytes + size > maxBytes)) {
                        return new ScanPage(entries, true, key, state);
                    }
                    KeyValue.Builder kv = KeyValue.newBuilder().setKey(key);
                    if (!keysOnly) {
                        kv.setValue(UnsafeByteOperations.unsafeWrap(value));
                    }
                    entries.add(kv.build());
                    bytes += size;
                }
                it.status();
                return new ScanPage(entries, false, ByteString.EMPTY, state);
            } finally {
                db.releaseSnapshot(snapshot);
            }
        } catch (RocksDBException e) {
            throw new RocksStoreException("scan of range " + groupId + " failed: " + e.getMessage(), e);
        } finally {
            f.guard.readLock().unlock();
        }
    }

    @Override
    public void forEachMeta(long groupId, ByteString prefix, BiConsumer<ByteString, ByteString> visitor) {
        Family f = family(groupId);
        byte[] from = RocksKeys.meta(prefix);
        try (RocksIterator it = db.newIterator(f.handle)) {
            for (it.seek(from); it.isValid(); it.next()) {
                byte[] key = it.key();
                if (!startsWith(key, from)) {
                    break;
                }
                visitor.accept(RocksKeys.metaKey(key), UnsafeByteOperations.unsafeWrap(it.value()));
            }
            it.status();
        } catch (RocksDBException e) {
            throw new RocksStoreException("reading the records of range " + groupId + " failed: " + e.getMessage(), e);
        }
    }

    private static boolean startsWith(byte[] key, byte[] prefix) {
        return key.length >= prefix.length && Arrays.equals(key, 0, prefix.length, prefix, 0, prefix.length);
    }

    @Override
    public GroupWrite beginWrite(long groupId) {
        return new RocksWrite(family(groupId), null);
    }

    @Override
    public RoundWrite beginRound() {
        return new RocksRound();
    }

    /**
     * One worker round's {@link WriteBatch} for the families of all its groups, written with one
     * {@code db.write}: a write per group made a round over 64 groups join RocksDB's write queue 64
     * times (and, against the node's other worker, wait on each other in it). Each group's part lies
     * in its own family with its apply state, so a crash keeps it whole or loses it whole, as before
     * (a batch spanning families is not atomic across them without RocksDB's WAL, and need not be).
     * Owned by the worker.
     */
    private final class RocksRound implements RoundWrite {
        private final WriteBatch batch = new WriteBatch();
        private final List<RocksWrite> committed = new ArrayList<>();

        @Override
        public GroupWrite group(long groupId) {
            return new RocksWrite(family(groupId), this);
        }

        @Override
        public void commit() {
            if (committed.isEmpty()) {
                return;
            }
            try {
                db.write(resources.writeOptions, batch);
            } catch (RocksDBException e) {
                RocksWrite first = committed.get(0);
                throw new RocksStoreException("the write of " + committed.size() + " ranges (range " + first.family.groupId
                        + " up to index " + first.state.appliedIndex() + ", ...) failed: " + e.getMessage(), e);
            }
            // Read after the write: at least this batch's sequence number (conservative, see FlushPoints).
            long sequence = db.getLatestSequenceNumber();
            for (RocksWrite w : committed) {
                w.family.flushPoints.add(sequence, w.state.appliedIndex());
                w.family.applyState = w.state;
            }
            committed.clear();
            batch.clear();
        }

        @Override
        public void close() {
            batch.close();
        }
    }

    /**
     * One group's writes of one round: in a {@link WriteBatch} of its own ({@link #beginWrite}), or
     * as its part of a {@link RocksRound}'s batch, which a save point drops again if the part is closed
     * without commit. Owned by the group's worker.
     */
    private final class RocksWrite implements GroupWrite {
        private final Family family;
        private final RocksRound round;
        private final WriteBatch batch;
        private ApplyState state;
        private boolean done;

        RocksWrite(Family family, RocksRound round) {
            this.family = family;
            this.round = round;
            this.batch = round == null ? new WriteBatch() : round.batch;
            if (round != null) {
                batch.setSavePoint();
            }
        }

        @Override
        public void put(ByteString key, ByteString value) {
            add(() -> batch.put(family.handle, RocksKeys.data(key), value.toByteArray()), "a put");
        }

        @Override
        public void delete(ByteString key) {
            add(() -> batch.delete(family.handle, RocksKeys.data(key)), "a delete");
        }

        @Override
        public void deleteRange(ByteString start, ByteString end) {
            // RocksDB refuses a whole write if one of its range deletions ends before it starts; such an interval is empty.
            if (end.isEmpty() || KeySpace.compare(start, end) < 0) {
                add(() -> batch.deleteRange(family.handle, RocksKeys.data(start), RocksKeys.dataEnd(end)), "a range deletion");
            }
        }

        @Override
        public void putMeta(ByteString key, ByteString value) {
            add(() -> batch.put(family.handle, RocksKeys.meta(key), value.toByteArray()), "a record");
        }

        @Override
        public void deleteMeta(ByteString key) {
            add(() -> batch.delete(family.handle, RocksKeys.meta(key)), "a record deletion");
        }

        /** One addition to the batch; RocksDB's checked exception becomes the store's, naming the range. */
        private void add(BatchOp op, String what) {
            try {
                op.run();
            } catch (RocksDBException e) {
                throw new RocksStoreException("cannot add " + what + " to a batch of range " + family.groupId, e);
            }
        }

        @Override
        public void commit(ApplyState state) {
            try {
                batch.put(family.handle, RocksKeys.APPLY_STATE, state.encode());
            } catch (RocksDBException e) {
                throw new RocksStoreException("cannot add the apply state to a batch of range " + family.groupId, e);
            }
            this.state = state;
            done = true;
            if (round != null) {
                // Written by the round's commit.
                round.committed.add(this);
                return;
            }
            try {
                db.write(resources.writeOptions, batch);
            } catch (RocksDBException e) {
                throw new RocksStoreException("the write of range " + family.groupId + " up to index "
                        + state.appliedIndex() + " failed: " + e.getMessage(), e);
            }
            // Read after the write: at least this batch's sequence number (conservative, see FlushPoints).
            family.flushPoints.add(db.getLatestSequenceNumber(), state.appliedIndex());
            family.applyState = state;
        }

        @Override
        public void close() {
            if (round == null) {
                batch.close();
                return;
            }
            try {
                if (done) {
                    batch.popSavePoint();
                } else {
                    batch.rollbackToSavePoint();
                }
            } catch (RocksDBException e) {
                throw new RocksStoreException("cannot end the part of range " + family.groupId + " in a round's batch", e);
            }
        }
    }

    /**
     * Exports the group's family ({@code Checkpoint.exportColumnFamily}: a memtable flush, then hard
     * links of its SST files) and imports it into a small database of its own, whose directory is
     * the image: the files' metadata RocksDB needs to import them again cannot be read or rebuilt
     * through the Java API, but a database that holds them can be exported again on the receiver.
     * No data is copied. The reader deletes the directory when closed.
     */
    @Override
    public SnapshotSource.Reader exportImage(long groupId) {
        Family f = family(groupId);
        Path dir = tempDirectory("export", groupId);
        Path sst = dir.resolve("sst");
        Path image = dir.resolve("db");
        try {
            Files.createDirectories(dir);
            ImageDatabase.export(db, f.handle, sst, files -> {
                ImageDatabase.write(image, files);
                return image;
            });
            DirectoryImage.deleteRecursively(sst);
            return DirectoryImage.reader(image, ImageDatabase::partOfImage, dir);
        } catch (RocksDBException | IOException e) {
            DirectoryImage.deleteRecursively(dir);
            throw new RocksStoreException("cannot export range " + groupId + " for a snapshot: " + e.getMessage(), e);
        }
    }

    @Override
    public ApplyState importImage(long groupId, Path image) throws IOException {
        Path dir = tempDirectory("import", groupId);
        Path imageDbDir = dir.resolve("db");
        Path sst = dir.resolve("sst");
        try {
            DirectoryImage.unpack(image, imageDbDir);
            return ImageDatabase.read(groupId, image, imageDbDir, sst, this::install);
        } catch (RocksDBException e) {
            throw new IOException(image + " could not be imported as range " + groupId + ": " + e.getMessage(), e);
        } finally {
            DirectoryImage.deleteRecursively(dir);
        }
    }

    /** A new directory under the store's temporary one for one export, import or split of the group. */
    Path tempDirectory(String purpose, long groupId) {
        return config.tempDirectory().resolve(purpose + "-" + groupId + "-" + tempCounter.incrementAndGet());
    }

    /** Imports the files as the group's next generation, then drops the family it replaces. */
    private void install(ApplyState state, ExportImportFilesMetaData files) throws RocksDBException {
        long groupId = state.groupId();
        synchronized (creation) {
            Family old = groups.get(groupId);
            if (old == null) {
                requireRoomForOneMore();
            }
            int generation = old == null ? 0 : old.generation + 1;
            // Imported files are durable at once: the state is as durable as it is applied.
            register(new Family(groupId, generation, importFamily(groupId, generation, files), state, state.appliedIndex()));
            if (old != null) {
                byName.remove(old.name);
                closeFamily(old, true);
            }
        }
    }

    /** Holds {@link #creation}. */
    void requireRoomForOneMore() {
        if (groups.size() >= config.maxGroups()) {
            throw new GroupLimitException(groups.size(), 1, config.maxGroups());
        }
    }

    /** A new family of the group made of exported files, which are moved (hard links) into the database. Holds {@link #creation}. */
    ColumnFamilyHandle importFamily(long groupId, int generation, ExportImportFilesMetaData files)
            throws RocksDBException {
        try (ImportColumnFamilyOptions move = new ImportColumnFamilyOptions().setMoveFiles(true)) {
            return db.createColumnFamilyWithImport(new ColumnFamilyDescriptor(
                    familyName(groupId, generation).getBytes(StandardCharsets.UTF_8), resources.columnFamilyOptions),
                    move, files);
        }
    }

    /** Makes {@code f} its group's family. Holds {@link #creation}. */
    void register(Family f) {
        byName.put(f.name, f);
        groups.put(f.groupId, f);
    }

    /** See {@link RocksSplits#split}. */
    @Override
    public ApplyState split(long parentId, ApplyState childState) {
        return RocksSplits.split(this, parentId, childState);
    }

    /** See {@link RocksSplits#dropUnfinished}. */
    @Override
    public List<Long> dropUnfinishedSplits() {
        return RocksSplits.dropUnfinished(this);
    }

    /** Stops the flusher, then closes every handle, the database and the shared options, in that order. */
    @Override
    public void close() {
        flusher.shutdown();
        try {
            if (!flusher.awaitTermination(60, TimeUnit.SECONDS)) {
                LOG.log(System.Logger.Level.WARNING, "a flush of " + config.rocksDirectory() + " did not end in 60 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (creation) {
            for (Family f : groups.values()) {
                closeFamily(f, false);
            }
            groups.clear();
            byName.clear();
            for (ColumnFamilyHandle h : otherHandles) {
                h.close();
            }
            otherHandles.clear();
            db.close();
            close(resources, listener);
        }
    }

    private static void close(RocksResources resources, AbstractEventListener listener) {
        resources.close();
        listener.close();
    }
}
