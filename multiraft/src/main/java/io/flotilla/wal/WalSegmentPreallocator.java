package io.flotilla.wal;

import java.io.IOException;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps {@link WalWriterConfig#segmentsAhead()} empty segments created after the one the writer is
 * filling, on its own thread, so that a rollover is only an {@code open}.
 *
 * <p>Why a thread of its own rather than the writer between batches: creating a 64 MiB segment
 * writes and forces 64 MiB (~0.1 s here), and a loaded writer is never idle: the next batch always
 * gathers while one fsync runs. Creating on the writer would stall every group's log for that long
 * exactly when it is busiest. One thread per node, not per group; it sleeps (parked) between
 * segments.
 *
 * <p>Threads: the preallocator thread owns its {@link WalSegmentCreator}. The writer thread calls
 * {@link #writerMovedTo} and {@link #awaitCreated}; the owner calls {@link #start} and {@link #close}.
 * They share only the volatile fields below.
 */
final class WalSegmentPreallocator {
    private final WalSegmentCreator creator;
    private final int segmentsAhead;
    private final Thread thread;
    /** The segment the writer is filling; written by the writer thread. */
    private volatile long writerSequence;
    /** Every segment up to this one exists, durably named; written by the preallocator thread. */
    private volatile long createdUpTo;
    /** Why creation stopped; written once by the preallocator thread. */
    private volatile IOException failure;
    private volatile boolean closing;
    /** The thread to wake after each creation (the writer, if it is waiting); set before start. */
    private volatile Thread waiter;

    WalSegmentPreallocator(WalFileSystem fs, WalConfig config, int segmentsAhead, long writerSequence,
            long lastExistingSequence) {
        this.creator = new WalSegmentCreator(fs, config);
        this.segmentsAhead = segmentsAhead;
        this.writerSequence = writerSequence;
        this.createdUpTo = Math.max(writerSequence, lastExistingSequence);
        this.thread = new Thread(this::run, "flotilla-wal-preallocator-" + config.nodeId());
        // Never blocks JVM exit on its own; the owner closes it, and an interrupted creation is only a temp file.
        this.thread.setDaemon(true);
    }

    void start(Thread writerThread) {
        this.waiter = writerThread;
        thread.start();
    }

    /** Writer thread: it now fills {@code sequence}; keep the segments after it coming. */
    void writerMovedTo(long sequence) {
        writerSequence = sequence;
        LockSupport.unpark(thread);
    }

    /**
     * Writer thread: returns once segment {@code sequence} exists.
     *
     * @return true if it had to wait
     * @throws IOException the preallocator's failure, if it could not create that segment
     */
    boolean awaitCreated(long sequence) throws IOException {
        boolean waited = false;
        while (createdUpTo < sequence) {
            IOException e = failure;
            if (e != null) {
                throw e;
            }
            waited = true;
            LockSupport.unpark(thread);
            LockSupport.park(this);
        }
        return waited;
    }

    /** Writer thread: it moves to {@code sequence}; returns once that segment exists (true if it had to wait). */
    boolean awaitCreatedAfterMove(long sequence) throws IOException {
        writerMovedTo(sequence);
        return awaitCreated(sequence);
    }

    /**
     * Stepped mode (no thread was started): creates every segment up to {@code sequence} on the
     * calling thread, as the preallocator thread would have done ahead of need.
     */
    void createThrough(long sequence) throws IOException {
        while (createdUpTo < sequence) {
            creator.create(createdUpTo + 1);
            createdUpTo = createdUpTo + 1;
        }
        writerSequence = sequence;
    }

    /** Owner thread: stops after the creation under way (if any) and waits for the thread. */
    void close() throws InterruptedException {
        closing = true;
        LockSupport.unpark(thread);
        // Never interrupt: an interrupt closes the FileChannel of the segment being created.
        thread.join();
    }

    private void run() {
        while (!closing) {
            long next = createdUpTo + 1;
            if (next > writerSequence + segmentsAhead) {
                LockSupport.park(this);
                continue;
            }
            try {
                creator.create(next);
            } catch (IOException e) {
                failure = e;
                wakeWaiter();
                return;
            } catch (RuntimeException | Error e) {
                failure = new IOException("creating segment " + WalSegmentNames.fileName(next) + " failed unexpectedly", e);
                wakeWaiter();
                return;
            }
            createdUpTo = next;
            wakeWaiter();
        }
    }

    private void wakeWaiter() {
        Thread w = waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }
}
