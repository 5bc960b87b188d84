package io.flotilla.wal.crash;

import io.flotilla.raft.Check;
import io.flotilla.wal.WalDirectoryLock;
import io.flotilla.wal.WalFile;
import io.flotilla.wal.WalFileSystem;
import io.flotilla.wal.WalLockedException;
import io.flotilla.wal.WalSegmentNames;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An in-memory {@link WalFileSystem} that models durability the way ext4 and xfs do for the log's
 * purposes, records every mutating call as a numbered boundary, and builds the file system a restart
 * would see after a power failure at any boundary ({@link #crashImage}).
 *
 * <p>The model. Each file (inode) has <i>written</i> bytes, what reads return, and <i>durable</i>
 * bytes; {@link WalFile#force} makes the written bytes (and size) durable. Directory entries
 * (create, rename, delete) change the visible namespace at once but are <i>pending</i> until
 * {@link #fsyncDirectory} on their directory makes that directory's whole namespace durable. A crash
 * image holds only the durable namespace (a file created or renamed since the last directory fsync
 * is missing or under its old name; a deleted one is back), and each file holds its durable bytes
 * plus, depending on the {@link CrashMode}, none, a torn part, or all of its unsynced writes.
 * Bytes never written are zeros. Directories themselves are always durable, and are not versioned.
 *
 * <p>Boundaries. Boundary {@code k} is the state right after the {@code k}-th mutating call
 * (write, force, truncate, create, rename, delete, directory fsync); boundary 0 is the state the
 * file system was made with. {@link #markAck} stamps an event (a callback firing) with the boundary
 * it happened after, through the same sequence, so the test knows exactly which acknowledgements a
 * crash at a boundary must honour. The log of calls is replayed to build images, so an image is a
 * pure function of (the call log, boundary, mode, tear seed): deterministic.
 *
 * <p>Threads. Any thread may call it; every call takes one monitor, which orders boundaries, acks
 * and the writer gate. Each {@link WalFile} it returns is used by one thread at a time.
 *
 * <p>The writer gate ({@link #enableWriterGate}) makes a {@code WalWriter} run deterministically:
 * its writes and forces on segment files wait until the preallocator has finished creating the
 * segments ahead, and each force waits to be released by the driving test, which submits the next
 * batches while the writer is held, so that which batches share a group commit never depends on
 * thread timing. With {@code preallocateAfterFirstWrite} the preallocator's next creation is instead
 * held until the writer has written once to the segment it just opened (and the writer's later
 * calls wait for that creation), so that crashes also find a torn tail in the last segment there is.
 */
public final class CrashSimFileSystem implements WalFileSystem {
    /** Deliberately broken behaviour, to prove that the crash harness catches a log that skips a sync. */
    public enum Fault {
        NONE,
        /** {@code force} on a file opened with {@link #open} (the writer's segments) makes nothing durable. */
        SKIP_OPENED_FILE_FORCE,
        /** {@link #fsyncDirectory} makes nothing durable. */
        DROP_DIRECTORY_FSYNC
    }

    private static final long GATE_TIMEOUT_MS = 30_000;

    private final Object monitor = new Object();
    private final Fault fault;
    private final long tearSeed;
    /** Boundary 0, kept to replay from. */
    private final State initial;
    private final State live;
    /** Every mutating call in order; call {@code k} (1-based) ends at boundary {@code k}. */
    private final List<Op> log = new ArrayList<>();
    /** Boundary after which each acknowledgement token was marked. */
    private final Map<Long, Integer> ackBoundaries = new HashMap<>();
    private final Set<Path> lockedDirectories = new HashSet<>();
    /** Replays {@link #log} for {@link #crashImage}; advanced forward, rebuilt if asked for an earlier boundary. */
    private State replay;
    private int replayedOps;

    // Writer gate; see the class comment. gateSegmentsAhead < 0 means off.
    private int gateSegmentsAhead = -1;
    private boolean preallocateAfterFirstWrite;
    private long lastOpenedSegment = -1;
    /** Writes to the segment last opened, since it was opened. */
    private long writesSinceOpen;
    /** True from a create, rename or delete until the next directory fsync call (effective or not). */
    private boolean directoryDirty;
    private long forceArrivals;
    private long forceReleases;

    /** An empty file system; {@code tearSeed} picks where torn writes stop. */
    public CrashSimFileSystem(Fault fault, long tearSeed) {
        this(fault, tearSeed, new State());
    }

    private CrashSimFileSystem(Fault fault, long tearSeed, State start) {
        this.fault = Objects.requireNonNull(fault);
        this.tearSeed = tearSeed;
        this.live = start;
        this.initial = start.copy();
    }

    // ---------------------------------------------------------------- crash images

    /** Number of mutating calls so far: the last boundary. */
    public int boundaries() {
        synchronized (monitor) {
            return log.size();
        }
    }

    /** What call {@code boundary} was, for failure messages ("boundary 0" for the start). */
    public String describe(int boundary) {
        synchronized (monitor) {
            return boundary == 0 ? "the start" : log.get(boundary - 1).toString();
        }
    }

    /**
     * The file system a restart sees after power fails right after {@code boundary}: the durable
     * namespace, each file's durable bytes and, per {@code mode}, its unsynced writes. Everything in
     * the image is durable; it records its own calls from boundary 0. Fast when called for
     * non-decreasing boundaries (the call log is replayed forward once).
     */
    public CrashSimFileSystem crashImage(int boundary, CrashMode mode) {
        synchronized (monitor) {
            Check.argument(boundary >= 0 && boundary <= log.size(), "boundary %d outside [0, %d]", boundary, log.size());
            if (replay == null || replayedOps > boundary) {
                replay = initial.copy();
                replayedOps = 0;
            }
            while (replayedOps < boundary) {
                replay.apply(log.get(replayedOps++));
            }
            return new CrashSimFileSystem(Fault.NONE, tearSeed, replay.crashImage(mode, mix(tearSeed, boundary)));
        }
    }

    /**
     * A fingerprint of the visible files (names and bytes); two file systems with equal fingerprints
     * almost surely hold the same files. For counting distinct crash images.
     */
    public long fingerprint() {
        synchronized (monitor) {
            long h = 17;
            for (Map.Entry<Path, Inode> e : live.current.entrySet()) {
                Inode f = e.getValue();
                h = h * 31 + e.getKey().hashCode();
                h = h * 31 + f.size;
                h = h * 31 + Arrays.hashCode(Arrays.copyOf(f.data, f.size));
            }
            return h;
        }
    }

    /**
     * A digest of every mutating call so far, bytes included: two runs that made the same calls in
     * the same order have the same digest. For checking that a seed replays exactly.
     */
    public long historyDigest() {
        synchronized (monitor) {
            long h = 17;
            for (Op op : log) {
                h = h * 31 + op.toString().hashCode();
                if (op instanceof Write w) {
                    h = h * 31 + Arrays.hashCode(w.bytes);
                }
            }
            return h;
        }
    }

    /**
     * Stamps {@code token} with the current boundary: whatever it stands for happened after that
     * boundary's call and before the next one.
     *
     * @return the boundary
     */
    public int markAck(long token) {
        synchronized (monitor) {
            int boundary = log.size();
            Check.state(ackBoundaries.put(token, boundary) == null, "token %d acknowledged twice", token);
            monitor.notifyAll();
            return boundary;
        }
    }

    /**
     * Stamps {@code token}, a batch the writer reported durable up to {@code endOffsetBytes} of
     * {@code segment}, with the boundary of the force that covered it: the first force of that file
     * after the write holding the batch's last byte. That is where the writer claimed durability, and
     * unlike {@link #markAck} it does not depend on when the callback's thread got to run (the writer
     * hands callbacks to a completer thread and goes on writing), so a seed replays the same stamps.
     * If no such force has happened yet, the writer acknowledged before forcing: the stamp is the
     * current boundary, so crash images from there on expose the loss.
     *
     * @return the boundary
     */
    public int markDurableAck(long token, Path segment, long endOffsetBytes) {
        synchronized (monitor) {
            int boundary = log.size();
            Inode inode = live.current.get(segment);
            int write = -1;
            for (int k = log.size() - 1; k >= 0 && inode != null; k--) {
                if (log.get(k) instanceof Write w && w.inode() == inode.id && w.positionBytes() < endOffsetBytes
                        && endOffsetBytes <= w.positionBytes() + w.bytes().length) {
                    write = k;
                    break;
                }
            }
            for (int k = write + 1; write >= 0 && k < log.size(); k++) {
                if (log.get(k) instanceof Force f && f.inode() == inode.id) {
                    boundary = k + 1; // call k + 1 (1-based) ends at boundary k + 1
                    break;
                }
            }
            Check.state(ackBoundaries.put(token, boundary) == null, "token %d acknowledged twice", token);
            monitor.notifyAll();
            return boundary;
        }
    }

    /** The boundary {@code token} was marked at, or -1 if it never was. */
    public int ackBoundary(long token) {
        synchronized (monitor) {
            return ackBoundaries.getOrDefault(token, -1);
        }
    }

    public int ackCount() {
        synchronized (monitor) {
            return ackBoundaries.size();
        }
    }

    // ---------------------------------------------------------------- writer gate

    /**
     * Turns the writer gate on (see the class comment) for a writer keeping {@code segmentsAhead}
     * segments ready; the preallocator creates each next segment before the writer's first write to
     * the segment it opened, or, with {@code preallocateAfterFirstWrite}, right after that write.
     */
    public void enableWriterGate(int segmentsAhead, boolean preallocateAfterFirstWrite) {
        Check.argument(segmentsAhead >= 1, "segmentsAhead %d must be at least 1", segmentsAhead);
        synchronized (monitor) {
            gateSegmentsAhead = segmentsAhead;
            this.preallocateAfterFirstWrite = preallocateAfterFirstWrite;
            monitor.notifyAll();
        }
    }

    /** Turns the gate off and lets every held call go. */
    public void disableWriterGate() {
        synchronized (monitor) {
            gateSegmentsAhead = -1;
            monitor.notifyAll();
        }
    }

    /**
     * Driver thread: waits until the writer is held at a force (returns true) or {@code acks}
     * tokens have been marked with no force held (returns false).
     */
    public boolean awaitHeldForceOrAcks(int acks) throws InterruptedIOException {
        synchronized (monitor) {
            long deadline = System.nanoTime() + GATE_TIMEOUT_MS * 1_000_000;
            while (true) {
                if (forceArrivals > forceReleases) {
                    return true;
                }
                if (ackBoundaries.size() >= acks) {
                    return false;
                }
                waitUntil(deadline, "the writer neither reached a force nor acknowledged " + acks + " batches (acknowledged "
                        + ackBoundaries.size() + ")");
            }
        }
    }

    /** Driver thread: lets the held force go. */
    public void releaseForce() {
        synchronized (monitor) {
            Check.state(forceArrivals > forceReleases, "no force is held (%d arrived, %d released)", forceArrivals, forceReleases);
            forceReleases++;
            monitor.notifyAll();
        }
    }

    /** Called under the monitor before a write or force on {@code f}. */
    private void gate(SimFile f, boolean force) throws InterruptedIOException {
        if (gateSegmentsAhead < 0 || !f.opened || WalSegmentNames.parseSequence(f.path.getFileName().toString()) < 0) {
            return;
        }
        long deadline = System.nanoTime() + GATE_TIMEOUT_MS * 1_000_000;
        boolean creationHeldUntilThisWrite = !force && preallocateAfterFirstWrite && writesSinceOpen == 0;
        while (gateSegmentsAhead >= 0 && !creationHeldUntilThisWrite && !preallocationSettled(f.path.getParent())) {
            waitUntil(deadline, "the preallocator did not create segment " + (lastOpenedSegment + gateSegmentsAhead));
        }
        if (force && gateSegmentsAhead >= 0) {
            long ticket = ++forceArrivals;
            monitor.notifyAll();
            while (gateSegmentsAhead >= 0 && forceReleases < ticket) {
                waitUntil(deadline, "the test did not release force " + ticket);
            }
        }
    }

    /**
     * Called under the monitor before a file is created: holds the creation of segment {@code s}
     * until the writer has opened segment {@code s - segmentsAhead} and written to it.
     */
    private void gateCreate(Path path) throws InterruptedIOException {
        long creating = WalSegmentNames.parseTempSequence(path.getFileName().toString());
        if (gateSegmentsAhead < 0 || !preallocateAfterFirstWrite || creating < 0) {
            return;
        }
        long deadline = System.nanoTime() + GATE_TIMEOUT_MS * 1_000_000;
        while (gateSegmentsAhead >= 0 && preallocateAfterFirstWrite) {
            long writing = creating - gateSegmentsAhead;
            if (lastOpenedSegment > writing || (lastOpenedSegment == writing && writesSinceOpen > 0)) {
                return;
            }
            waitUntil(deadline, "the writer did not write to segment " + writing);
        }
    }

    private boolean preallocationSettled(Path directory) {
        Path ahead = directory.resolve(WalSegmentNames.fileName(lastOpenedSegment + gateSegmentsAhead));
        return !directoryDirty && live.current.containsKey(ahead);
    }

    private void waitUntil(long deadlineNs, String what) throws InterruptedIOException {
        long leftMs = (deadlineNs - System.nanoTime()) / 1_000_000;
        if (leftMs <= 0) {
            throw new IllegalStateException("timed out after " + GATE_TIMEOUT_MS + " ms: " + what);
        }
        try {
            monitor.wait(leftMs);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting: " + what);
        }
    }

    // ---------------------------------------------------------------- WalFileSystem

    @Override
    public WalFile create(Path path) throws IOException {
        synchronized (monitor) {
            requireDirectory(path.getParent());
            gateCreate(path);
            if (exists(path)) {
                throw new FileAlreadyExistsException(path.toString());
            }
            record(new Create(path));
            return new SimFile(live.current.get(path).id, path, false);
        }
    }

    @Override
    public WalFile open(Path path) throws IOException {
        synchronized (monitor) {
            Inode f = live.current.get(path);
            if (f == null) {
                throw new NoSuchFileException(path.toString());
            }
            long seq = WalSegmentNames.parseSequence(path.getFileName().toString());
            if (seq >= 0) {
                lastOpenedSegment = seq;
                writesSinceOpen = 0;
                monitor.notifyAll();
            }
            return new SimFile(f.id, path, true);
        }
    }

    @Override
    public boolean exists(Path path) {
        synchronized (monitor) {
            return live.current.containsKey(path) || live.directories.contains(path);
        }
    }

    @Override
    public void createDirectories(Path directory) {
        synchronized (monitor) {
            for (Path p = directory; p != null; p = p.getParent()) {
                live.directories.add(p);
                initial.directories.add(p);
            }
        }
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        synchronized (monitor) {
            if (!live.current.containsKey(from)) {
                throw new NoSuchFileException(from.toString());
            }
            requireDirectory(to.getParent());
            if (exists(to)) {
                throw new FileAlreadyExistsException(to.toString(), from.toString(), "rename target exists");
            }
            record(new Rename(from, to));
        }
    }

    @Override
    public void delete(Path path) throws IOException {
        synchronized (monitor) {
            if (!live.current.containsKey(path)) {
                throw new NoSuchFileException(path.toString());
            }
            record(new Delete(path));
        }
    }

    @Override
    public List<String> list(Path directory) throws IOException {
        synchronized (monitor) {
            requireDirectory(directory);
            List<String> names = new ArrayList<>();
            for (Path p : live.current.keySet()) {
                if (directory.equals(p.getParent())) {
                    names.add(p.getFileName().toString());
                }
            }
            names.sort(null);
            return names;
        }
    }

    @Override
    public void fsyncDirectory(Path directory) throws IOException {
        synchronized (monitor) {
            requireDirectory(directory);
            record(new FsyncDirectory(directory, fault != Fault.DROP_DIRECTORY_FSYNC));
        }
    }

    @Override
    public WalDirectoryLock lock(Path directory) throws IOException {
        synchronized (monitor) {
            requireDirectory(directory);
            if (!lockedDirectories.add(directory)) {
                throw new WalLockedException(directory, "another opener of this simulated file system");
            }
        }
        return new WalDirectoryLock() {
            private boolean closed;

            @Override
            public Path directory() {
                return directory;
            }

            @Override
            public void close() {
                synchronized (monitor) {
                    if (!closed) {
                        closed = true;
                        lockedDirectories.remove(directory);
                    }
                }
            }
        };
    }

    private void requireDirectory(Path directory) throws NoSuchFileException {
        if (directory == null || !live.directories.contains(directory)) {
            throw new NoSuchFileException(String.valueOf(directory), null, "no such directory");
        }
    }

    /** Applies a mutating call to the live state and logs it: one boundary. Under the monitor. */
    private void record(Op op) {
        live.apply(op);
        log.add(op);
        if (op instanceof Create || op instanceof Rename || op instanceof Delete) {
            directoryDirty = true;
        } else if (op instanceof FsyncDirectory) {
            directoryDirty = false;
        }
        monitor.notifyAll();
    }

    private static long mix(long seed, long boundary) {
        long z = seed + boundary * 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A handle on one inode; follows the inode through renames, as a real descriptor does. One thread at a time. */
    private final class SimFile implements WalFile {
        private final int inode;
        private final Path path;
        /** Made by {@link #open} (the writer's segments) rather than {@link #create}. */
        private final boolean opened;
        private boolean closed;

        SimFile(int inode, Path path, boolean opened) {
            this.inode = inode;
            this.path = path;
            this.opened = opened;
        }

        @Override
        public Path path() {
            return path;
        }

        @Override
        public void write(ByteBuffer src, long positionBytes) throws IOException {
            Check.argument(positionBytes >= 0, "negative position %d", positionBytes);
            byte[] bytes = new byte[src.remaining()];
            src.get(bytes);
            synchronized (monitor) {
                requireOpen();
                gate(this, false);
                record(new Write(inode, positionBytes, bytes));
                if (opened) {
                    writesSinceOpen++;
                }
            }
        }

        @Override
        public int read(ByteBuffer dst, long positionBytes) throws IOException {
            synchronized (monitor) {
                requireOpen();
                Inode f = live.inodes.get(inode);
                int n = (int) Math.max(0, Math.min(dst.remaining(), f.size - positionBytes));
                if (n > 0) {
                    dst.put(f.data, (int) positionBytes, n);
                }
                return n;
            }
        }

        @Override
        public void force() throws IOException {
            synchronized (monitor) {
                requireOpen();
                gate(this, true);
                record(new Force(inode, !(opened && fault == Fault.SKIP_OPENED_FILE_FORCE)));
            }
        }

        @Override
        public long sizeBytes() throws IOException {
            synchronized (monitor) {
                requireOpen();
                return live.inodes.get(inode).size;
            }
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            synchronized (monitor) {
                requireOpen();
                if (sizeBytes < live.inodes.get(inode).size) {
                    record(new Truncate(inode, sizeBytes));
                }
            }
        }

        @Override
        public void close() {
            synchronized (monitor) {
                closed = true;
            }
        }

        private void requireOpen() throws ClosedChannelException {
            if (closed) {
                throw new ClosedChannelException();
            }
        }
    }

    // ---------------------------------------------------------------- the model

    /** One mutating call. Immutable; byte arrays are never written after the call. */
    private sealed interface Op {
    }

    private record Create(Path path) implements Op {
    }

    private record Write(int inode, long positionBytes, byte[] bytes) implements Op {
        @Override
        public String toString() {
            return "write inode " + inode + " [" + positionBytes + ", " + (positionBytes + bytes.length) + ")";
        }
    }

    private record Force(int inode, boolean effective) implements Op {
        @Override
        public String toString() {
            return "force inode " + inode + (effective ? "" : " (skipped by fault)");
        }
    }

    private record Truncate(int inode, long sizeBytes) implements Op {
    }

    private record Rename(Path from, Path to) implements Op {
    }

    private record Delete(Path path) implements Op {
    }

    private record FsyncDirectory(Path directory, boolean effective) implements Op {
    }

    /** An unsynced change to a file: a write, or (bytes == null) a truncation to {@code positionBytes}. */
    private record Mutation(long positionBytes, byte[] bytes) {
    }

    /**
     * One file's contents. Arrays may be shared between inodes (copies and images) and between the
     * written and durable views; whoever writes into a shared array copies it first.
     */
    private static final class Inode {
        final int id;
        byte[] data;
        int size;
        boolean dataShared;
        /** Never written in place once set. */
        byte[] durableData;
        int durableSize;
        /** Changes since the last effective force, in order. */
        final List<Mutation> unsynced = new ArrayList<>();

        Inode(int id, byte[] data, int size, byte[] durableData, int durableSize) {
            this.id = id;
            this.data = data;
            this.size = size;
            this.dataShared = true;
            this.durableData = durableData;
            this.durableSize = durableSize;
        }

        void apply(Mutation m) {
            if (m.bytes == null) {
                truncate((int) m.positionBytes);
            } else {
                write((int) m.positionBytes, m.bytes, m.bytes.length);
            }
        }

        void write(int position, byte[] bytes, int length) {
            int end = Math.addExact(position, length);
            if (dataShared || data.length < end) {
                data = Arrays.copyOf(data, Math.max(end, size));
                dataShared = false;
            }
            System.arraycopy(bytes, 0, data, position, length);
            size = Math.max(size, end);
        }

        void truncate(int newSize) {
            if (newSize < size) {
                data = Arrays.copyOf(data, newSize);
                dataShared = false;
                size = newSize;
            }
        }

        /** This file as a crash at {@code mode} leaves it; {@code pick} chooses the tear point. */
        Inode crashed(int newId, CrashMode mode, long pick) {
            if (unsynced.isEmpty() || mode == CrashMode.LOSE_UNSYNCED) {
                return new Inode(newId, durableData, durableSize, durableData, durableSize);
            }
            if (mode == CrashMode.KEEP_UNSYNCED) {
                dataShared = true;
                return new Inode(newId, data, size, data, size);
            }
            Inode torn = new Inode(newId, durableData, durableSize, durableData, durableSize);
            for (int i = 0; i < unsynced.size() - 1; i++) {
                torn.apply(unsynced.get(i));
            }
            Mutation last = unsynced.get(unsynced.size() - 1);
            if (last.bytes != null) {
                long start = last.positionBytes;
                long end = start + last.bytes.length;
                long g = mode.tearBytes;
                // Tear points: multiples of g strictly inside the write; the part before one reached the disk.
                long first = start / g + 1;
                long count = (end + g - 1) / g - first;
                long keep = count <= 0 ? 0 : (first + Math.floorMod(pick, count)) * g - start;
                if (keep > 0) {
                    torn.write((int) start, last.bytes, (int) keep);
                }
            }
            torn.durableData = torn.data;
            torn.durableSize = torn.size;
            torn.dataShared = true;
            return torn;
        }
    }

    /** Namespace and files: the live state, a replay, or an image. Owned by whoever holds the monitor. */
    private static final class State {
        final List<Inode> inodes = new ArrayList<>();
        final TreeMap<Path, Inode> current = new TreeMap<>();
        final TreeMap<Path, Inode> durable = new TreeMap<>();
        final Set<Path> directories = new TreeSet<>();

        void apply(Op op) {
            if (op instanceof Create c) {
                Inode f = new Inode(inodes.size(), new byte[0], 0, new byte[0], 0);
                inodes.add(f);
                current.put(c.path, f);
            } else if (op instanceof Write w) {
                Inode f = inodes.get(w.inode);
                Mutation m = new Mutation(w.positionBytes, w.bytes);
                f.apply(m);
                f.unsynced.add(m);
            } else if (op instanceof Truncate t) {
                Inode f = inodes.get(t.inode);
                Mutation m = new Mutation(t.sizeBytes, null);
                f.apply(m);
                f.unsynced.add(m);
            } else if (op instanceof Force fo) {
                if (fo.effective) {
                    Inode f = inodes.get(fo.inode);
                    f.durableData = f.data;
                    f.durableSize = f.size;
                    f.dataShared = true;
                    f.unsynced.clear();
                }
            } else if (op instanceof Rename r) {
                current.put(r.to, current.remove(r.from));
            } else if (op instanceof Delete d) {
                current.remove(d.path);
            } else if (op instanceof FsyncDirectory s) {
                if (s.effective) {
                    durable.keySet().removeIf(p -> s.directory.equals(p.getParent()));
                    for (Map.Entry<Path, Inode> e : current.entrySet()) {
                        if (s.directory.equals(e.getKey().getParent())) {
                            durable.put(e.getKey(), e.getValue());
                        }
                    }
                }
            } else {
                throw new IllegalStateException("unknown call " + op);
            }
        }

        /** What survives a crash now: durable names only, each file per {@code mode}; all of it durable. */
        State crashImage(CrashMode mode, long pick) {
            State image = new State();
            image.directories.addAll(directories);
            Map<Inode, Inode> made = new IdentityHashMap<>();
            for (Map.Entry<Path, Inode> e : durable.entrySet()) {
                Inode f = made.computeIfAbsent(e.getValue(), old -> {
                    Inode n = old.crashed(image.inodes.size(), mode, pick);
                    image.inodes.add(n);
                    return n;
                });
                image.current.put(e.getKey(), f);
                image.durable.put(e.getKey(), f);
            }
            return image;
        }

        /** An independent copy (arrays shared copy-on-write). */
        State copy() {
            State c = new State();
            c.directories.addAll(directories);
            for (Inode f : inodes) {
                f.dataShared = true;
                Inode n = new Inode(f.id, f.data, f.size, f.durableData, f.durableSize);
                n.unsynced.addAll(f.unsynced);
                c.inodes.add(n);
            }
            for (Map.Entry<Path, Inode> e : current.entrySet()) {
                c.current.put(e.getKey(), c.inodes.get(e.getValue().id));
            }
            for (Map.Entry<Path, Inode> e : durable.entrySet()) {
                c.durable.put(e.getKey(), c.inodes.get(e.getValue().id));
            }
            return c;
        }
    }
}
