package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * The group-commit writer of a node's log: one thread that takes every batch pending from every
 * worker, encodes them into one reusable buffer, writes them at the end of the current segment with
 * as few {@code write} calls as the buffer allows, forces the segment once (unless every batch of
 * the round is one that need not wait for a force: {@link WalBatch#forced()}), and hands the round to a
 * completer thread, which runs every batch's callback with its durable position. There is no timer:
 * while one fsync runs, the next group gathers in the queue.
 *
 * <p>Threads. The writer thread (a plain {@link Thread} owned by this object, started by
 * {@link #start} and stopped by {@link #close}, both called by the log's owner) owns the current
 * segment file, the encoder with its CRC chain, the buffer and the counters' values. Submitters (the
 * runtime's workers, any number of threads) only call {@link #submit}, which never blocks: it offers
 * the batch to a bounded lock-free queue (capacity {@link WalWriterConfig#queueCapacityBatches()}
 * rounded up to a power of two) and returns false when the queue is full. The completer thread (one
 * per log, named {@code flotilla-wal-writer-<node>-completer}) runs the callbacks, so the wake-ups of
 * the submitters they cause are off the write+force path: as soon as a force returns, the writer
 * hands the round over through a bounded single-producer queue and drains the next one. At most
 * {@link #ROUNDS_IN_FLIGHT} forced rounds wait for the completer; beyond that the writer waits for
 * it (back-pressure from slow callbacks). The owner must hold the log directory's lock for as long as
 * the writer is open. A {@link WalSegmentPreallocator} thread creates the next segments ahead of need.
 *
 * <p>Order. Rounds reach the completer in the order they were committed and it completes them one
 * by one, each in submission order, so callbacks run exactly once per accepted batch, in the order
 * the queue accepted the batches, successes and failures alike.
 *
 * <p>Fail-stop. Any error from {@code write}, {@code force}, opening or closing a segment, or
 * creating the next one, fails the batches of that group commit and every batch submitted after it
 * with {@link WalFailedException} carrying the original cause. The writer never writes or forces
 * again: an fsync is never retried, because after a failed fsync Linux may have dropped the dirty
 * pages and cleared the error, so a retry could report success for lost data. A callback that throws
 * stops the log the same way from the next round the writer takes on; rounds it had already forced
 * are still reported durable, which they are.
 *
 * <p>Crash safety (the contract {@link WalRecoveryScanner} relies on): segment N is forced before
 * the first record is written to segment N+1, and a torn tail left by an earlier run is zeroed and
 * forced before anything is appended after it. At open, the tail segment is forced before anything
 * is appended, so every record recovery read is durable from then on.
 */
public final class WalWriter implements AutoCloseable {
    /**
     * Forced rounds that may wait for the completer. More than two only absorbs a completer that
     * is descheduled for a moment (a 2-core node runs the workers too); each round's batch array is
     * small until a round needs more.
     */
    static final int ROUNDS_IN_FLIGHT = 8;
    private static final int MIN_ROUND_CAPACITY = 64;
    private static final VarHandle FAILURE;

    static {
        try {
            FAILURE = MethodHandles.lookup().findVarHandle(WalWriter.class, "failure", WalFailedException.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final WalFileSystem fs;
    private final WalConfig config;
    private final int maxRecordBytes;
    /** Submitters to the writer; many producers, the writer is the one consumer (close, before start). */
    private final ManyToOneConcurrentArrayQueue<WalBatch> queue;
    private final int drainLimitBatches;
    /** Forced (or failed) rounds, writer to completer, in commit order. */
    private final OneToOneConcurrentArrayQueue<CommitRound> completions;
    /** Completed rounds, completer back to writer, for reuse. Exactly ROUNDS_IN_FLIGHT rounds exist. */
    private final OneToOneConcurrentArrayQueue<CommitRound> freeRounds;
    /** Submits between their closed check and their offer; close waits for it to reach zero. */
    private final AtomicInteger submitting = new AtomicInteger();
    private final Thread thread;
    private final Thread completer;
    private final WalSegmentPreallocator preallocator;

    // Owned by the writer thread (set by the opening thread before start, which orders them).
    private final WalRecordEncoder encoder;
    private final ByteBuffer buffer;
    /** The round being gathered and committed; handed to the completer once forced. */
    private CommitRound round;
    private final Consumer<WalBatch> addToRound = batch -> round.add(batch);
    private WalFile file;
    private long sequence;
    /** Mirror of {@code sequence} for other threads: segments below it are closed by the writer. */
    private volatile long activeSequence;
    /** Invariant: every byte of the segment before this offset has been written; the buffer's byte 0 goes here. */
    private long writtenEndBytes;

    /** Set once (first error wins) by the writer or the completer thread; read by submitters and the writer. */
    private volatile WalFailedException failure;
    /** Set by the owner in {@link #close}: new submissions are refused. */
    private volatile boolean closing;
    /** Set by {@link #close} once no submission can still arrive: the writer finishes what is queued and exits. */
    private volatile boolean drained;
    /** Set by the writer on its way out: the completer finishes the rounds handed to it and exits. */
    private volatile boolean writerDone;
    /** True while the writer thread is about to park or parked for work; submitters wake it only then. */
    private volatile boolean idle;
    /** True while the writer waits for the completer to give back a round. */
    private volatile boolean awaitingRound;
    /** True while the completer is about to park or parked; the writer wakes it only then. */
    private volatile boolean completerIdle;
    private volatile boolean started;
    /** No threads: the owner commits queued batches itself ({@link #commitQueued}); the deterministic simulation's mode. */
    private boolean stepped;
    /** An error closing the last segment on the way out, reported by {@link #close}. */
    private volatile IOException closeError;
    /** Told of each group commit by the writer thread; set by any thread. */
    private volatile WalObserver observer = WalObserver.NONE;

    // Counters: written only by the writer thread (volatile so benchmarks can read them while it runs).
    private volatile long commits;
    private volatile long batches;
    private volatile long records;
    private volatile long entries;
    private volatile long bytes;
    private volatile long writes;
    private volatile long forces;
    private volatile long rollovers;
    private volatile long segmentWaits;

    private WalWriter(WalFileSystem fs, WalConfig config, WalWriterConfig writerConfig, WalFile file,
            long sequence, long writtenEndBytes, int lastRecordCrc, long lastExistingSequence) {
        this.fs = fs;
        this.config = config;
        this.maxRecordBytes = config.maxRecordBytes();
        this.queue = new ManyToOneConcurrentArrayQueue<>(writerConfig.queueCapacityBatches());
        this.drainLimitBatches = writerConfig.queueCapacityBatches();
        this.completions = new OneToOneConcurrentArrayQueue<>(ROUNDS_IN_FLIGHT);
        this.freeRounds = new OneToOneConcurrentArrayQueue<>(ROUNDS_IN_FLIGHT);
        int roundCapacity = Math.min(MIN_ROUND_CAPACITY, drainLimitBatches);
        this.round = new CommitRound(roundCapacity);
        for (int i = 1; i < ROUNDS_IN_FLIGHT; i++) {
            freeRounds.offer(new CommitRound(roundCapacity));
        }
        this.encoder = new WalRecordEncoder(config.maxRecordBytes());
        this.encoder.continueChainFrom(lastRecordCrc);
        this.buffer = ByteBuffer.allocateDirect(writerConfig.writeBufferBytes()).order(ByteOrder.LITTLE_ENDIAN);
        this.file = file;
        this.sequence = sequence;
        this.activeSequence = sequence;
        this.writtenEndBytes = writtenEndBytes;
        this.thread = new Thread(this::run, "flotilla-wal-writer-" + config.nodeId());
        // Daemon so a forgotten close cannot keep the JVM alive; durability never depends on the thread outliving close.
        this.thread.setDaemon(true);
        this.completer = new Thread(this::runCompleter, "flotilla-wal-writer-" + config.nodeId() + "-completer");
        this.completer.setDaemon(true);
        this.preallocator = new WalSegmentPreallocator(fs, config, writerConfig.segmentsAhead(), sequence,
                lastExistingSequence);
    }

    /**
     * Opens the writer where recovery left the log, on the calling (owner's) thread. If the
     * directory held no segment ({@code recovered.segmentSequences()} empty), creates segment 1.
     * Otherwise continues after the last valid record of the tail segment, first zeroing and
     * forcing the torn range {@code [tailEndBytes, tornEndBytes)} if there is one, and continues the
     * CRC chain from {@code recovered.lastRecordCrc()}. Leftover temporary segment files are deleted.
     * Call {@link #start} to begin writing.
     *
     * @param recovered what {@link WalRecoveryScanner#scan} returned for this directory just now
     */
    public static WalWriter open(WalFileSystem fs, WalConfig config, WalWriterConfig writerConfig,
            WalRecoveryResult recovered) throws IOException {
        Check.argument(writerConfig.writeBufferBytes() >= config.maxRecordBytes(),
                "writeBufferBytes %d must hold the largest record, maxRecordBytes %d",
                writerConfig.writeBufferBytes(), config.maxRecordBytes());
        Path dir = config.directory();
        if (!recovered.tempFileNames().isEmpty()) {
            for (String temp : recovered.tempFileNames()) {
                fs.delete(dir.resolve(temp));
            }
            fs.fsyncDirectory(dir);
        }
        long tailSequence;
        long tailEndBytes;
        long lastExisting;
        if (recovered.segmentSequences().isEmpty()) {
            Check.argument(recovered.tailSequence() == -1 && recovered.recordCount() == 0,
                    "a recovery result without segments cannot have tail segment %d or %d records",
                    recovered.tailSequence(), recovered.recordCount());
            tailSequence = 1;
            tailEndBytes = WalSegmentHeader.HEADER_BYTES;
            new WalSegmentCreator(fs, config).create(tailSequence);
            lastExisting = tailSequence;
        } else {
            tailSequence = recovered.tailSequence();
            tailEndBytes = recovered.tailEndBytes();
            lastExisting = recovered.segmentSequences().get(recovered.segmentSequences().size() - 1);
            Check.argument(recovered.segmentSequences().contains(tailSequence),
                    "tail segment %d is not among the recovered segments", tailSequence);
            Check.argument(tailEndBytes >= WalSegmentHeader.HEADER_BYTES && tailEndBytes <= config.segmentBytes()
                    && tailEndBytes % WalRecordFormat.ALIGNMENT_BYTES == 0,
                    "tail end %d is not an aligned offset inside a segment of %d bytes", tailEndBytes, config.segmentBytes());
        }
        WalFile file = fs.open(dir.resolve(WalSegmentNames.fileName(tailSequence)));
        try {
            if (recovered.tornTail()) {
                zero(file, recovered.tailEndBytes(), recovered.tornEndBytes());
            } else if (tailEndBytes > WalSegmentHeader.HEADER_BYTES) {
                // What recovery read may have been written and never forced (a batch done once
                // written, or a crash between a write and its force): the node acts on it from now
                // on, so it must not vanish in a later power loss.
                file.force();
            }
            return new WalWriter(fs, config, writerConfig, file, tailSequence, tailEndBytes,
                    recovered.lastRecordCrc(), lastExisting);
        } catch (IOException | RuntimeException e) {
            try {
                file.close();
            } catch (IOException closeError) {
                e.addSuppressed(closeError);
            }
            throw e;
        }
    }

    /**
     * Overwrites a torn tail with zeros and forces it, so that a later recovery never mistakes its
     * leftovers for damage in the middle of the log once new records follow.
     */
    private static void zero(WalFile file, long fromBytes, long toBytes) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(toBytes - fromBytes, 1 << 16));
        for (long pos = fromBytes; pos < toBytes; ) {
            zeros.clear().limit((int) Math.min(zeros.capacity(), toBytes - pos));
            int n = zeros.remaining();
            file.write(zeros, pos);
            pos += n;
        }
        file.force();
    }

    /** Owner thread: starts the writer, completer and preallocator threads. */
    public void start() {
        Check.state(!started, "the log writer was already started");
        started = true;
        preallocator.start(thread);
        completer.start();
        thread.start();
    }

    /**
     * Owner thread, instead of {@link #start}: the writer runs no threads. Each {@link #commitQueued}
     * call then does on the calling thread what the writer and completer threads do: one group
     * commit of everything queued, then its callbacks. The bytes written, the forces and the
     * callbacks' order are the same as with threads; only who runs them differs. For a simulation
     * that must be single-threaded and replayable.
     */
    public void startStepped() {
        Check.state(!started && !stepped, "the log writer was already started");
        stepped = true;
    }

    /**
     * Stepped mode, owner thread: one group commit of every batch queued now (segments are created
     * inline when the writer rolls over), then every callback. Returns the batches it committed or
     * failed (0: nothing was queued).
     */
    public int commitQueued() {
        Check.state(stepped, "commitQueued is for a writer started with startStepped");
        int n = queue.drain(addToRound, drainLimitBatches);
        if (n == 0) {
            return 0;
        }
        WalFailedException failed = failure;
        if (failed == null) {
            commit();
        } else {
            round.failure = failed;
        }
        complete(round);
        round.clear();
        return n;
    }

    /**
     * Any thread: hands {@code batch} to the writer without blocking. On true, exactly one of
     * {@code callback}'s methods will run, on the completer thread, once the batch is durable or has
     * failed. On false the queue was full: nothing happened, the caller still owns the batch and
     * should report back-pressure (retry in a later round).
     *
     * @throws WalFailedException       if the log has already failed (its cause is the original error)
     * @throws IllegalStateException    if the writer is closed, or the batch was already submitted
     * @throws IllegalArgumentException if a record is larger than {@link WalConfig#maxRecordBytes()}
     */
    public boolean submit(WalBatch batch, WalAppendCallback callback) throws WalFailedException {
        WalFailedException failed = failure;
        if (failed != null) {
            throw new WalFailedException("it stopped before this submission: " + failed.detail(), failed.getCause());
        }
        // Counted from before the closed check until after the offer, so that close() knows when no
        // submission that saw the writer open can still be on its way into the queue.
        submitting.getAndIncrement();
        try {
            Check.state(!closing, "the log writer is closed; no batch can be submitted");
            batch.beginSubmit(callback, maxRecordBytes);
            if (!queue.offer(batch)) {
                batch.cancelSubmit();
                return false;
            }
        } finally {
            submitting.getAndDecrement();
        }
        // The offer's CAS on the queue tail orders before this read; the writer sets idle before its
        // last emptiness check, so one of the two sees the other (no lost wake-up).
        if (idle && !stepped) {
            LockSupport.unpark(thread);
        }
        return true;
    }

    /**
     * The segment the writer appends to now (any thread). Every lower segment is closed and fully
     * forced, so purge may delete those whose records are all dead.
     */
    public long activeSegmentSequence() {
        return activeSequence;
    }

    /** The error that stopped the log, or null while it works. */
    public WalFailedException failure() {
        return failure;
    }

    public WalWriterStats stats() {
        return new WalWriterStats(commits, batches, records, entries, bytes, writes, forces, rollovers, segmentWaits);
    }

    /**
     * Owner thread: lets the writer make everything already queued durable (or fail it, if the log
     * failed), waits until the completer has run every callback, stops the threads and closes the
     * segment. A submission that races with close is either refused by {@link #submit} or completed
     * through its callback; none is left unanswered. Stop the submitters first. Blocks while a force
     * is under way. If the writer was never started, the batches queued are failed on the calling
     * thread.
     *
     * @throws IOException closing the last segment failed (every acknowledged batch is still durable)
     */
    @Override
    public void close() throws IOException {
        if (closing) {
            return;
        }
        closing = true;
        // A submit that read closing == false is between its check and its offer: a few instructions, never a block.
        while (submitting.get() != 0) {
            Thread.onSpinWait();
        }
        drained = true;
        try {
            if (stepped) {
                while (commitQueued() > 0) {
                    // Everything queued before close is made durable (or failed) and answered.
                }
                closeFile();
            } else if (started) {
                LockSupport.unpark(thread);
                // Never interrupt the writer: an interrupt closes the FileChannel it is writing.
                thread.join();
                completer.join();
                preallocator.close();
            } else {
                closeFile();
                WalFailedException closed = new WalFailedException("the writer closed before this batch was written", null);
                WalBatch straggler;
                while ((straggler = queue.poll()) != null) {
                    completeFailed(straggler, closed);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while closing the log writer; its threads may still run");
        }
        Check.state(queue.isEmpty() && completions.isEmpty(), "the log writer closed with %d batches and %d rounds"
                + " unanswered", queue.size(), completions.size());
        if (closeError != null) {
            throw closeError;
        }
    }

    private void run() {
        try {
            while (true) {
                int n = queue.drain(addToRound, drainLimitBatches);
                if (n == 0) {
                    if (!queue.isEmpty()) {
                        // A submitter has claimed a slot and is about to fill it.
                        Thread.onSpinWait();
                        continue;
                    }
                    if (drained) {
                        break;
                    }
                    // Park, not spin: on a 2-core node a spinning writer would take a core from the workers.
                    idle = true;
                    if (queue.isEmpty() && !drained) {
                        LockSupport.park(this);
                    }
                    idle = false;
                    continue;
                }
                WalFailedException failed = failure;
                if (failed == null) {
                    commit();
                } else {
                    round.failure = failed;
                }
                handOff();
            }
        } finally {
            closeFile();
            writerDone = true;
            LockSupport.unpark(completer);
        }
    }

    /** Gives the committed (or failed) round to the completer and takes an empty one, waiting if all are out. */
    private void handOff() {
        // Never fails: only ROUNDS_IN_FLIGHT rounds exist and the queue holds that many.
        completions.offer(round);
        // The offer is a release store; the fence keeps the completerIdle read after it (Dekker with runCompleter).
        VarHandle.fullFence();
        if (completerIdle) {
            LockSupport.unpark(completer);
        }
        CommitRound next = freeRounds.poll();
        while (next == null) {
            awaitingRound = true;
            next = freeRounds.poll();
            if (next == null) {
                LockSupport.park(this);
                next = freeRounds.poll();
            }
            awaitingRound = false;
        }
        round = next;
    }

    /** The completer thread: runs every round's callbacks, in commit order, and gives the round back. */
    private void runCompleter() {
        while (true) {
            CommitRound done = completions.poll();
            if (done == null) {
                if (writerDone && completions.isEmpty()) {
                    return;
                }
                completerIdle = true;
                if (completions.isEmpty() && !writerDone) {
                    LockSupport.park(this);
                }
                completerIdle = false;
                continue;
            }
            complete(done);
            done.clear();
            freeRounds.offer(done);
            VarHandle.fullFence();
            if (awaitingRound) {
                LockSupport.unpark(thread);
            }
        }
    }

    /** Completer thread: one round's callbacks, in submission order. */
    private void complete(CommitRound done) {
        WalFailedException failed = done.failure;
        if (failed != null) {
            for (int i = 0; i < done.size; i++) {
                completeFailed(done.batches[i], failed);
            }
            return;
        }
        Throwable callbackError = null;
        for (int i = 0; i < done.size; i++) {
            WalBatch batch = done.batches[i];
            int last = batch.size() - 1;
            long endBytes = batch.recordOffsetBytes(last) + batch.recordBytes(last);
            try {
                batch.callback().onDurable(batch, batch.recordSegmentSequence(last), endBytes);
            } catch (RuntimeException | Error e) {
                if (callbackError == null) {
                    callbackError = e;
                }
            }
        }
        if (callbackError != null) {
            // The batches are durable, but the node no longer knows what it acknowledged: stop it.
            fail(new WalFailedException("a completion callback threw; callbacks must not throw", callbackError));
        }
    }

    private void closeFile() {
        try {
            file.close();
        } catch (IOException e) {
            closeError = e;
        }
    }

    /** One group commit of {@link #round}: encode, write, one force; the completer runs the callbacks. */
    private void commit() {
        long startNs = System.nanoTime();
        long forceNs = 0;
        long roundRecords = 0;
        long roundEntries = 0;
        long roundBytes = 0;
        boolean mustForce = false;
        try {
            buffer.clear();
            for (int b = 0; b < round.size; b++) {
                WalBatch batch = round.batches[b];
                mustForce |= batch.forced();
                for (int i = 0; i < batch.size(); i++) {
                    int size = batch.recordBytes(i);
                    if (writtenEndBytes + buffer.position() + size > config.segmentBytes()) {
                        flush();
                        rollover();
                    } else if (size > buffer.remaining()) {
                        flush();
                    }
                    batch.place(i, sequence, writtenEndBytes + buffer.position());
                    encoder.append(buffer, batch.record(i));
                }
                roundRecords += batch.size();
                roundEntries += batch.entryCount();
                roundBytes += batch.totalBytes();
            }
            flush();
            if (mustForce) {
                long forceStartNs = System.nanoTime();
                force();
                forceNs = System.nanoTime() - forceStartNs;
            }
        } catch (WalFailedException e) {
            fail(e);
            round.failure = e;
            return;
        } catch (RuntimeException | Error e) {
            WalFailedException failed = new WalFailedException("the writer thread hit an unexpected error (a bug) while"
                    + " writing segment " + WalSegmentNames.fileName(sequence), e);
            fail(failed);
            round.failure = failed;
            return;
        }
        commits++;
        batches += round.size;
        records += roundRecords;
        entries += roundEntries;
        bytes += roundBytes;
        observer.committed(roundEntries, System.nanoTime() - startNs, forceNs);
    }

    /** From now on, {@code observer} hears of each group commit (any thread). */
    public void observe(WalObserver observer) {
        this.observer = Objects.requireNonNull(observer, "observer");
    }

    /** Writer or completer thread: stops the log; the first error is the one reported to later submitters. */
    private void fail(WalFailedException e) {
        FAILURE.compareAndSet(this, null, e);
    }

    /** Writes the buffer at the end of the segment's written part. */
    private void flush() throws WalFailedException {
        if (buffer.position() == 0) {
            return;
        }
        buffer.flip();
        int n = buffer.remaining();
        try {
            file.write(buffer, writtenEndBytes);
        } catch (IOException e) {
            throw new WalFailedException("writing " + n + " bytes to segment " + WalSegmentNames.fileName(sequence)
                    + " at offset " + writtenEndBytes + " failed", e);
        }
        writes++;
        writtenEndBytes += n;
        buffer.clear();
    }

    private void force() throws WalFailedException {
        forces++;
        try {
            file.force();
        } catch (IOException e) {
            throw new WalFailedException("forcing segment " + WalSegmentNames.fileName(sequence) + " (written up to offset "
                    + writtenEndBytes + ") failed", e);
        }
    }

    /** Makes the current segment durable, then moves to the next one, which the preallocator has (normally) made. */
    private void rollover() throws WalFailedException {
        force();
        long next = sequence + 1;
        try {
            file.close();
        } catch (IOException e) {
            throw new WalFailedException("closing full segment " + WalSegmentNames.fileName(sequence) + " failed", e);
        }
        try {
            if (stepped) {
                preallocator.createThrough(next);
            } else if (preallocator.awaitCreatedAfterMove(next)) {
                segmentWaits++;
            }
            file = fs.open(config.directory().resolve(WalSegmentNames.fileName(next)));
        } catch (IOException e) {
            // Leave the closed file in place: closeFile on the way out closes it again, which is harmless.
            throw new WalFailedException("could not create or open the next segment " + WalSegmentNames.fileName(next), e);
        }
        sequence = next;
        activeSequence = next;
        writtenEndBytes = WalSegmentHeader.HEADER_BYTES;
        rollovers++;
    }

    private static void completeFailed(WalBatch batch, WalFailedException e) {
        try {
            batch.callback().onFailed(batch, e);
        } catch (RuntimeException | Error callbackError) {
            // The log has already stopped; there is nothing more to stop. Keep answering the others.
            e.addSuppressed(callbackError);
        }
    }

    /**
     * The batches of one group commit and how it ended. Owned by the writer while it gathers and
     * commits them, then by the completer (the queue between them orders the memory), then by the
     * writer again once the completer gives it back empty.
     */
    private static final class CommitRound {
        WalBatch[] batches;
        int size;
        /** Null if every batch is durable; else why none of them is. */
        WalFailedException failure;

        CommitRound(int capacity) {
            this.batches = new WalBatch[capacity];
        }

        void add(WalBatch batch) {
            if (size == batches.length) {
                batches = Arrays.copyOf(batches, batches.length * 2);
            }
            batches[size++] = batch;
        }

        /** Drops the references so completed batches can be collected while the round waits for reuse. */
        void clear() {
            Arrays.fill(batches, 0, size, null);
            size = 0;
            failure = null;
        }
    }
}
