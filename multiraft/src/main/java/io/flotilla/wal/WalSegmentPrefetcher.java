package io.flotilla.wal;

import io.flotilla.raft.Check;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.agrona.concurrent.OneToOneConcurrentArrayQueue;

/**
 * Reads a log's segment files whole, in sequence order, on a thread of its own, so that recovery
 * decodes segment N while segment N+1 comes off the disk: a cold scan then takes about as long as
 * the slower of reading and decoding rather than their sum.
 *
 * <p>Threads. Made, used and closed by the recovering thread (the consumer: {@link #next},
 * {@link #release}, {@link #close}). The reading thread (one per scan, not per group; it exits when
 * every segment is read, on the first error, or on close) owns the file it is reading and the
 * buffer it fills. Buffers move between them through two bounded single-producer queues, which
 * order the memory: a buffer is either free (the reader's), filled and queued, or held by the
 * consumer. {@link #BUFFERS} buffers exist, so the consumer may hold two segments at once (recovery
 * checks the segments after a damaged one while still looking at it).
 */
final class WalSegmentPrefetcher implements AutoCloseable {
    /** Segments in memory at once: one being decoded, one being read. */
    static final int BUFFERS = 2;
    /** Upper bound on a wait between the two threads; wake-ups normally come sooner, by unpark. */
    private static final long POLL_NS = TimeUnit.MICROSECONDS.toNanos(200);
    /** A read that takes this long means the disk is stuck: fail the scan rather than hang. */
    private static final long STUCK_NS = TimeUnit.SECONDS.toNanos(600);

    /** One segment read whole, or the error reading it. */
    static final class Segment {
        long sequence;
        ByteBuffer buffer;
        /** The file's size; {@code buffer}'s bytes [0, sizeBytes) are its content. */
        int sizeBytes;
        IOException error;
    }

    private final WalFileSystem fs;
    private final WalConfig config;
    private final List<Long> sequences;
    private final OneToOneConcurrentArrayQueue<Segment> filled = new OneToOneConcurrentArrayQueue<>(BUFFERS);
    private final OneToOneConcurrentArrayQueue<Segment> free = new OneToOneConcurrentArrayQueue<>(BUFFERS);
    private final Thread reader;
    private final Thread consumer;
    private volatile boolean closing;
    /** Owned by the consumer: the index in {@link #sequences} of the next segment {@link #next} returns. */
    private int nextIndex;

    /**
     * Starts reading {@code sequences} (ascending, as listed by recovery) at once.
     */
    WalSegmentPrefetcher(WalFileSystem fs, WalConfig config, List<Long> sequences) {
        this.fs = fs;
        this.config = config;
        this.sequences = List.copyOf(sequences);
        for (int i = 0; i < BUFFERS; i++) {
            free.offer(new Segment());
        }
        this.consumer = Thread.currentThread();
        this.reader = new Thread(this::run, "flotilla-wal-recovery-reader-" + config.nodeId());
        // An abandoned scan must not keep the JVM alive; close() joins it in every normal path.
        this.reader.setDaemon(true);
        if (!this.sequences.isEmpty()) {
            reader.start();
        }
    }

    /**
     * Consumer: the next segment in sequence order, read whole. Hand it back with {@link #release}
     * once its bytes are no longer needed; at most {@link #BUFFERS} may be held.
     *
     * @throws IOException the error reading it (the file could not be opened or read, or is larger
     *                     than any segment may be)
     */
    Segment next() throws IOException {
        Check.state(nextIndex < sequences.size(), "all %d segments were already returned", sequences.size());
        long expected = sequences.get(nextIndex++);
        long deadlineNs = System.nanoTime() + STUCK_NS;
        Segment s;
        while ((s = filled.poll()) == null) {
            if (System.nanoTime() - deadlineNs > 0) {
                throw new InterruptedIOException("segment " + WalSegmentNames.fileName(expected) + " was not read within "
                        + TimeUnit.NANOSECONDS.toSeconds(STUCK_NS) + " s; the disk may be stuck");
            }
            LockSupport.parkNanos(this, POLL_NS);
        }
        if (s.error != null) {
            throw s.error;
        }
        Check.state(s.sequence == expected, "read segment %d where %d was expected", s.sequence, expected);
        return s;
    }

    /** Consumer: gives a segment's buffer back to the reader. */
    void release(Segment s) {
        s.sequence = -1;
        free.offer(s);
        LockSupport.unpark(reader);
    }

    /** Consumer: stops the reader (after the read under way, if any) and waits for it. */
    @Override
    public void close() throws IOException {
        closing = true;
        if (!reader.isAlive()) {
            return;
        }
        LockSupport.unpark(reader);
        try {
            reader.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while stopping the recovery reader");
        }
    }

    private void run() {
        for (int i = 0; i < sequences.size() && !closing; i++) {
            Segment s;
            while ((s = free.poll()) == null) {
                if (closing) {
                    return;
                }
                LockSupport.parkNanos(this, POLL_NS);
            }
            s.sequence = sequences.get(i);
            boolean failed = false;
            try {
                read(s);
            } catch (IOException e) {
                s.error = e;
                failed = true;
            } catch (RuntimeException | Error e) {
                s.error = new IOException("the recovery reader hit an unexpected error (a bug) reading segment "
                        + WalSegmentNames.fileName(s.sequence), e);
                failed = true;
            }
            filled.offer(s);
            LockSupport.unpark(consumer);
            if (failed) {
                return;
            }
        }
    }

    /** Reader thread: reads segment {@code s.sequence} whole into {@code s.buffer}, growing it if needed. */
    private void read(Segment s) throws IOException {
        String name = WalSegmentNames.fileName(s.sequence);
        try (WalFile file = fs.open(config.directory().resolve(name))) {
            long sizeBytes = file.sizeBytes();
            // Checked before allocating: a huge file (damage, or not ours) must not exhaust memory.
            if (sizeBytes > WalConfig.MAX_SEGMENT_BYTES) {
                throw new WalCorruptionException(name, 0, "segment is " + sizeBytes + " bytes, more than the "
                        + WalConfig.MAX_SEGMENT_BYTES + " any segment may have");
            }
            int size = (int) sizeBytes;
            if (s.buffer == null || s.buffer.capacity() < size) {
                s.buffer = null; // let the old one go before the new one is allocated
                s.buffer = ByteBuffer.allocateDirect(Math.max(size, WalSegmentHeader.HEADER_BYTES))
                        .order(ByteOrder.LITTLE_ENDIAN);
            }
            s.buffer.clear().limit(size);
            int read = file.read(s.buffer, 0);
            if (read != size) {
                throw new IOException("read " + read + " of " + size + " bytes of " + file.path());
            }
            s.buffer.clear();
            s.sizeBytes = size;
        }
    }
}
