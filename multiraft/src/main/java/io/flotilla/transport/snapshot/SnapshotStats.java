package io.flotilla.transport.snapshot;

import io.flotilla.transport.HandshakeRefusal;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters of one {@link SnapshotSender} or {@link SnapshotReceiver} (each has its own; counters of
 * the other side stay 0). Written by that component's I/O thread (and by callers of
 * {@link SnapshotSender#send}); read by anyone. Each counter is exact, a set of them is not a snapshot.
 */
public final class SnapshotStats {
    // Sender side.
    final AtomicLong sendsRequested = new AtomicLong();
    final AtomicLong sendsSucceeded = new AtomicLong();
    final AtomicLong sendsFailed = new AtomicLong();
    final AtomicLong attempts = new AtomicLong();
    final AtomicLong retries = new AtomicLong();
    final AtomicLong busyRetries = new AtomicLong();
    final AtomicLong resumes = new AtomicLong();
    final AtomicLong resumedBytes = new AtomicLong();
    final AtomicLong chunksSent = new AtomicLong();
    final AtomicLong chunkBytesSent = new AtomicLong();
    final AtomicLong activeSends = new AtomicLong();
    final AtomicLong maxActiveSends = new AtomicLong();
    final AtomicLong queuedSends = new AtomicLong();
    final AtomicLong maxInFlightBytes = new AtomicLong();
    // Receiver side.
    final AtomicLong offersAccepted = new AtomicLong();
    final AtomicLong busyRefusals = new AtomicLong();
    final AtomicLong imagesTooLarge = new AtomicLong();
    final AtomicLong capacityRefusals = new AtomicLong();
    final AtomicLong retentionAborts = new AtomicLong();
    final AtomicLong activeReceives = new AtomicLong();
    final AtomicLong maxActiveReceives = new AtomicLong();
    final AtomicLong chunksReceived = new AtomicLong();
    final AtomicLong chunkBytesReceived = new AtomicLong();
    final AtomicLong bytesAcked = new AtomicLong();
    final AtomicLong receivesCompleted = new AtomicLong();
    final AtomicLong receivesFailed = new AtomicLong();
    final AtomicLong chunkChecksumFailures = new AtomicLong();
    final AtomicLong snapshotChecksumFailures = new AtomicLong();
    final AtomicLong suspended = new AtomicLong();
    // Both sides.
    final AtomicLong handshakesAccepted = new AtomicLong();
    final AtomicLong oversizedFrames = new AtomicLong();
    final AtomicLong malformedFrames = new AtomicLong();
    private final AtomicLongArray handshakesRefused = new AtomicLongArray(HandshakeRefusal.values().length);

    /** Calls of {@code send} that queued a transfer. */
    public long sendsRequested() {
        return sendsRequested.get();
    }

    /** Transfers reported to the listener as sent (ok = true). */
    public long sendsSucceeded() {
        return sendsSucceeded.get();
    }

    /** Transfers reported to the listener as failed (ok = false). */
    public long sendsFailed() {
        return sendsFailed.get();
    }

    /** Connections dialed for transfers, first attempts and retries. */
    public long attempts() {
        return attempts.get();
    }

    /** Attempts scheduled again after a broken connection, a refused handshake or BUSY. */
    public long retries() {
        return retries.get();
    }

    /** Offers the receiver refused with BUSY (each retried with backoff). */
    public long busyRetries() {
        return busyRetries.get();
    }

    /** Accepts that named a resume offset above 0. */
    public long resumes() {
        return resumes.get();
    }

    /** Sum of those resume offsets: bytes not sent again thanks to resuming. */
    public long resumedBytes() {
        return resumedBytes.get();
    }

    public long chunksSent() {
        return chunksSent.get();
    }

    /** Data bytes in chunks written, re-sent ones included. */
    public long chunkBytesSent() {
        return chunkBytesSent.get();
    }

    /** Transfers holding a send slot now. */
    public long activeSends() {
        return activeSends.get();
    }

    /** The most transfers that ever held a send slot at once; never above {@code maxConcurrentSends}. */
    public long maxActiveSends() {
        return maxActiveSends.get();
    }

    /** Transfers accepted by {@code send} and not yet reported: waiting, running or backing off. */
    public long queuedSends() {
        return queuedSends.get();
    }

    /** The most chunk bytes one transfer ever had sent and unacknowledged; never above {@code windowBytes}. */
    public long maxInFlightBytes() {
        return maxInFlightBytes.get();
    }

    public long offersAccepted() {
        return offersAccepted.get();
    }

    /** Offers refused because {@code maxConcurrentReceives} transfers were running. */
    public long busyRefusals() {
        return busyRefusals.get();
    }

    /** Offers refused (INVALID_OFFER) because the image is larger than {@code maxImageBytes}. */
    public long imagesTooLarge() {
        return imagesTooLarge.get();
    }

    /** Offers refused (SINK_ERROR) because the sink would hold more than {@code maxReceivedBytes}. */
    public long capacityRefusals() {
        return capacityRefusals.get();
    }

    /** Transfers in progress that a retention sweep failed and discarded: their group no longer needs them. */
    public long retentionAborts() {
        return retentionAborts.get();
    }

    public long activeReceives() {
        return activeReceives.get();
    }

    /** The most transfers ever received at once; never above {@code maxConcurrentReceives}. */
    public long maxActiveReceives() {
        return maxActiveReceives.get();
    }

    public long chunksReceived() {
        return chunksReceived.get();
    }

    public long chunkBytesReceived() {
        return chunkBytesReceived.get();
    }

    /** Bytes acknowledged as durable, summed over acks (each ack counts the bytes it newly covers). */
    public long bytesAcked() {
        return bytesAcked.get();
    }

    public long receivesCompleted() {
        return receivesCompleted.get();
    }

    /** Transfers the receiver failed and aborted (checksum, protocol or sink errors). */
    public long receivesFailed() {
        return receivesFailed.get();
    }

    public long chunkChecksumFailures() {
        return chunkChecksumFailures.get();
    }

    public long snapshotChecksumFailures() {
        return snapshotChecksumFailures.get();
    }

    /** Transfers whose connection broke and whose data was kept to resume. */
    public long suspended() {
        return suspended.get();
    }

    public long handshakesAccepted() {
        return handshakesAccepted.get();
    }

    /** Length fields over {@code maxFrameBytes}; each closed its connection before any allocation. */
    public long oversizedFrames() {
        return oversizedFrames.get();
    }

    /** Frames that did not decode or came out of order, and connections that ended inside a frame. */
    public long malformedFrames() {
        return malformedFrames.get();
    }

    public long handshakesRefused(HandshakeRefusal reason) {
        return handshakesRefused.get(reason.ordinal());
    }

    void refused(HandshakeRefusal reason) {
        handshakesRefused.incrementAndGet(reason.ordinal());
    }

    static void raiseTo(AtomicLong max, long value) {
        long current;
        while (value > (current = max.get())) {
            if (max.compareAndSet(current, value)) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("SnapshotStats{sendsRequested=").append(sendsRequested)
                .append(", sendsSucceeded=").append(sendsSucceeded).append(", sendsFailed=").append(sendsFailed)
                .append(", attempts=").append(attempts).append(", retries=").append(retries)
                .append(", busyRetries=").append(busyRetries).append(", resumes=").append(resumes)
                .append(", resumedBytes=").append(resumedBytes).append(", chunksSent=").append(chunksSent)
                .append(", chunkBytesSent=").append(chunkBytesSent).append(", activeSends=").append(activeSends)
                .append(", maxActiveSends=").append(maxActiveSends).append(", queuedSends=").append(queuedSends)
                .append(", maxInFlightBytes=").append(maxInFlightBytes)
                .append(", offersAccepted=").append(offersAccepted).append(", busyRefusals=").append(busyRefusals)
                .append(", imagesTooLarge=").append(imagesTooLarge)
                .append(", capacityRefusals=").append(capacityRefusals)
                .append(", retentionAborts=").append(retentionAborts)
                .append(", activeReceives=").append(activeReceives).append(", maxActiveReceives=").append(maxActiveReceives)
                .append(", chunksReceived=").append(chunksReceived).append(", chunkBytesReceived=").append(chunkBytesReceived)
                .append(", bytesAcked=").append(bytesAcked).append(", receivesCompleted=").append(receivesCompleted)
                .append(", receivesFailed=").append(receivesFailed)
                .append(", chunkChecksumFailures=").append(chunkChecksumFailures)
                .append(", snapshotChecksumFailures=").append(snapshotChecksumFailures)
                .append(", suspended=").append(suspended).append(", handshakesAccepted=").append(handshakesAccepted)
                .append(", oversizedFrames=").append(oversizedFrames).append(", malformedFrames=").append(malformedFrames);
        for (HandshakeRefusal r : HandshakeRefusal.values()) {
            b.append(", refused.").append(r).append('=').append(handshakesRefused(r));
        }
        return b.append('}').toString();
    }
}
