package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.locks.LockSupport;

/**
 * The group-commit writer of a node's log: one thread that takes every batch pending from every
 * worker, encodes them into one reusable buffer, writes them at the end of the current segment with
 * as few {@code write} calls as the buffer allows, forces the segment once, and then completes every
 * batch's callback with its durable position. There is no timer: while one fsync runs, the next
 * group gathers in the queue.
 *
 * <p>Threads. The writer thread (a plain {@link Thread} owned by this object, started by
 * {@link #start} and stopped by {@link #close}, both called by the log's owner) owns the current
 * segment file, the encoder with its CRC chain, the buffer and the counters' values. Submitters (the
 * runtime's workers, any number of threads) only call {@link #submit}, which never blocks: it offers
 * the batch to a bounded queue and returns false when the queue is full. The owner must hold the log
 * directory's lock for as long as the writer is open. A {@link WalSegmentPreallocator} thread creates
 * the next segments ahead of need.
 *
 * <p>Fail-stop. Any error from {@code write}, {@code force}, opening or closing a segment, or
 * creating the next one, fails the batches of that group commit and every batch submitted after it
 * with {@link WalFailedException} carrying the original cause. The writer never writes or forces
 * again: an fsync is never retried, because after a failed fsync Linux may have dropped the dirty
 * pages and cleared the error, so a retry could report success for lost data.
 *
 * <p>Crash safety (the contract {@link WalRecoveryScanner} relies on): segment N is forced before
 * the first record is written to segment N+1, and a torn tail left by an earlier run is zeroed and
 * forced before anything is appended after it.
 */
public final class WalWriter implements AutoCloseable {
    private final WalFileSystem fs;
    private final WalConfig config;
    private final int maxRecordBytes;
    private final ArrayBlockingQueue<WalBatch> queue;
    private final int drainLimitBatches;
    private final Thread thread;
    private final WalSegmentPreallocator preallocator;

    // Owned by the writer thread (set by the opening thread before start, which orders them).
    private final WalRecordEncoder encoder;
    private final ByteBuffer buffer;
    private final List<WalBatch> round;
    private WalFile file;
    private long sequence;
    /** Mirror of {@code sequence} for other threads: segments below it are closed by the writer. */
    private volatile long activeSequence;
    /** Invariant: every byte of the segment before this offset has been written; the buffer's byte 0 goes here. */
    private long writtenEndBytes;

    /** Set once by the writer thread; read by submitters. */
    private volatile WalFailedException failure;
    /** Set by the owner in {@link #close}; the writer finishes what is queued, then exits. */
    private volatile boolean closing;
    /** True while the writer thread is about to park or parked; submitters wake it only then. */
    private volatile boolean idle;
    private volatile boolean started;
    /** An error closing the last segment on the way out, reported by {@link #close}. */
    private volatile IOException closeError;

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
        this.queue = new ArrayBlockingQueue<>(writerConfig.queueCapacityBatches());
        this.drainLimitBatches = writerConfig.queueCapacityBatches();
        this.round = new ArrayList<>(drainLimitBatches);
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

    /** Owner thread: starts the writer and preallocator threads. */
    public void start() {
        Check.state(!started, "the log writer was already started");
        started = true;
        preallocator.start(thread);
        thread.start();
    }

    /**
     * Any thread: hands {@code batch} to the writer without blocking. On true, exactly one of
     * {@code callback}'s methods will run, on the writer thread, once the batch is durable or has
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
        Check.state(!closing, "the log writer is closed; no batch can be submitted");
        batch.beginSubmit(callback, maxRecordBytes);
        if (!queue.offer(batch)) {
            batch.cancelSubmit();
            return false;
        }
        // Close may have begun after the check above; if the writer is gone and nobody took the batch, take it back.
        if (closing && queue.remove(batch)) {
            batch.cancelSubmit();
            throw new IllegalStateException("the log writer is closed; no batch can be submitted");
        }
        if (idle) {
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
     * failed), stops both threads and closes the segment. A submission that races with close is
     * either refused by {@link #submit} or failed through its callback; none is left unanswered.
     * Stop the submitters first. Blocks while a force is under way.
     *
     * @throws IOException closing the last segment failed (every acknowledged batch is still durable)
     */
    @Override
    public void close() throws IOException {
        if (closing) {
            return;
        }
        closing = true;
        try {
            if (started) {
                LockSupport.unpark(thread);
                // Never interrupt the writer: an interrupt closes the FileChannel it is writing.
                thread.join();
                preallocator.close();
            } else {
                closeFile();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while closing the log writer; its threads may still run");
        }
        WalBatch straggler;
        WalFailedException closed = null;
        while ((straggler = queue.poll()) != null) {
            if (closed == null) {
                closed = new WalFailedException("the writer closed before this batch was written", null);
            }
            completeFailed(straggler, closed);
        }
        if (closeError != null) {
            throw closeError;
        }
    }

    private void run() {
        while (true) {
            int n = queue.drainTo(round, drainLimitBatches);
            if (n == 0) {
                if (closing) {
                    if (queue.isEmpty()) {
                        break;
                    }
                    continue;
                }
                // Park, not spin: on a 2-core node a spinning writer would take a core from the workers.
                idle = true;
                if (queue.isEmpty() && !closing) {
                    LockSupport.park(this);
                }
                idle = false;
                continue;
            }
            if (failure == null) {
                commit();
            } else {
                for (int i = 0; i < round.size(); i++) {
                    completeFailed(round.get(i), failure);
                }
            }
            round.clear();
        }
        closeFile();
    }

    private void closeFile() {
        try {
            file.close();
        } catch (IOException e) {
            closeError = e;
        }
    }

    /** One group commit of {@link #round}: encode, write, one force, then the callbacks. */
    private void commit() {
        long roundRecords = 0;
        long roundEntries = 0;
        long roundBytes = 0;
        try {
            buffer.clear();
            for (int b = 0; b < round.size(); b++) {
                WalBatch batch = round.get(b);
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
            force();
        } catch (WalFailedException e) {
            failAll(e);
            return;
        } catch (RuntimeException | Error e) {
            failAll(new WalFailedException("the writer thread hit an unexpected error (a bug) while writing segment "
                    + WalSegmentNames.fileName(sequence), e));
            return;
        }
        commits++;
        batches += round.size();
        records += roundRecords;
        entries += roundEntries;
        bytes += roundBytes;
        Throwable callbackError = null;
        for (int b = 0; b < round.size(); b++) {
            WalBatch batch = round.get(b);
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
            failure = new WalFailedException("a completion callback threw; callbacks must not throw", callbackError);
        }
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
        preallocator.writerMovedTo(next);
        try {
            if (preallocator.awaitCreated(next)) {
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

    private void failAll(WalFailedException e) {
        failure = e;
        for (int i = 0; i < round.size(); i++) {
            completeFailed(round.get(i), e);
        }
    }

    private static void completeFailed(WalBatch batch, WalFailedException e) {
        try {
            batch.callback().onFailed(batch, e);
        } catch (RuntimeException | Error callbackError) {
            // The log has already stopped; there is nothing more to stop. Keep answering the others.
            e.addSuppressed(callbackError);
        }
    }
}
