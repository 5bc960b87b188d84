package io.flotilla.transport;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counters of one {@link PeerTransport}. Written by the transport's I/O threads and by the threads
 * that call {@code send}; read by anyone (each counter is exact, a set of them is not a snapshot).
 * "Frames" here are batch frames; handshakes are counted separately.
 */
public final class TransportStats {
    final AtomicLong framesSent = new AtomicLong();
    final AtomicLong messagesSent = new AtomicLong();
    final AtomicLong bytesSent = new AtomicLong();
    final AtomicLong flushes = new AtomicLong();
    final AtomicLong writeFailures = new AtomicLong();
    final AtomicLong framesReceived = new AtomicLong();
    final AtomicLong messagesReceived = new AtomicLong();
    final AtomicLong bytesReceived = new AtomicLong();
    final AtomicLong malformedFrames = new AtomicLong();
    final AtomicLong oversizedFrames = new AtomicLong();
    final AtomicLong forgedMessagesDropped = new AtomicLong();
    final AtomicLong invalidMessagesDropped = new AtomicLong();
    final AtomicLong sendsDroppedDisconnected = new AtomicLong();
    final AtomicLong sendsDroppedBackpressure = new AtomicLong();
    final AtomicLong messagesDroppedUnreachable = new AtomicLong();
    final AtomicLong messagesDroppedByFilter = new AtomicLong();
    final AtomicLong oversizedMessagesDropped = new AtomicLong();
    final AtomicLong handshakesAccepted = new AtomicLong();
    final AtomicLong reconnects = new AtomicLong();
    private final AtomicLongArray handshakesRefused = new AtomicLongArray(HandshakeRefusal.values().length);

    /** Batch frames written (a send over {@code maxFrameBytes} is split into several). */
    public long framesSent() {
        return framesSent.get();
    }

    public long messagesSent() {
        return messagesSent.get();
    }

    /** Bytes of batch frames written, length prefixes included. */
    public long bytesSent() {
        return bytesSent.get();
    }

    /** Flushes of peer connections: one per {@code send} that wrote anything. */
    public long flushes() {
        return flushes.get();
    }

    /** Batch frames accepted by {@code send} whose write then failed (the connection dropped). */
    public long writeFailures() {
        return writeFailures.get();
    }

    /** Batch frames that decoded and were checked (messages may still have been dropped as forged or invalid). */
    public long framesReceived() {
        return framesReceived.get();
    }

    /** Messages handed to the listener. */
    public long messagesReceived() {
        return messagesReceived.get();
    }

    /** Bytes of batch frames received, length prefixes included, malformed ones too. */
    public long bytesReceived() {
        return bytesReceived.get();
    }

    /**
     * Frames that did not parse, or a connection that ended inside a frame; each closed its
     * connection. (A frame that parses but holds invalid messages loses only those: see
     * {@link #invalidMessagesDropped()}.)
     */
    public long malformedFrames() {
        return malformedFrames.get();
    }

    /** Length fields over {@code maxFrameBytes}; each closed its connection before any allocation. */
    public long oversizedFrames() {
        return oversizedFrames.get();
    }

    /** Messages whose from/to did not match the connection's handshake: a peer speaking for another node. */
    public long forgedMessagesDropped() {
        return forgedMessagesDropped.get();
    }

    /**
     * Messages that parsed but were invalid (an unknown type, a node id 0, a value of 2^63 or more, a
     * gap in the entries, ...), each dropped alone while the rest of its frame was delivered.
     */
    public long invalidMessagesDropped() {
        return invalidMessagesDropped.get();
    }

    /** Sends dropped because the peer had no established connection. */
    public long sendsDroppedDisconnected() {
        return sendsDroppedDisconnected.get();
    }

    /** Sends dropped because the connection's write buffer was above its high-water mark. */
    public long sendsDroppedBackpressure() {
        return sendsDroppedBackpressure.get();
    }

    /** Messages in sends dropped for either reason above ({@code onUnreachable} fired for each send). */
    public long messagesDroppedUnreachable() {
        return messagesDroppedUnreachable.get();
    }

    /** Messages dropped by the {@link TransportFaultFilter}. */
    public long messagesDroppedByFilter() {
        return messagesDroppedByFilter.get();
    }

    /** Single messages larger than a frame, dropped at the sender (a configuration error, logged). */
    public long oversizedMessagesDropped() {
        return oversizedMessagesDropped.get();
    }

    /** Handshakes that passed every check, on either side of a connection. */
    public long handshakesAccepted() {
        return handshakesAccepted.get();
    }

    /** Handshakes refused for {@code reason}, on either side of a connection. */
    public long handshakesRefused(HandshakeRefusal reason) {
        return handshakesRefused.get(reason.ordinal());
    }

    /** Re-dials scheduled after a failed dial or a dropped connection. */
    public long reconnects() {
        return reconnects.get();
    }

    void refused(HandshakeRefusal reason) {
        handshakesRefused.incrementAndGet(reason.ordinal());
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("TransportStats{framesSent=").append(framesSent)
                .append(", messagesSent=").append(messagesSent).append(", bytesSent=").append(bytesSent)
                .append(", flushes=").append(flushes).append(", writeFailures=").append(writeFailures)
                .append(", framesReceived=").append(framesReceived).append(", messagesReceived=").append(messagesReceived)
                .append(", bytesReceived=").append(bytesReceived).append(", malformedFrames=").append(malformedFrames)
                .append(", oversizedFrames=").append(oversizedFrames)
                .append(", forgedMessagesDropped=").append(forgedMessagesDropped)
                .append(", invalidMessagesDropped=").append(invalidMessagesDropped)
                .append(", sendsDroppedDisconnected=").append(sendsDroppedDisconnected)
                .append(", sendsDroppedBackpressure=").append(sendsDroppedBackpressure)
                .append(", messagesDroppedUnreachable=").append(messagesDroppedUnreachable)
                .append(", messagesDroppedByFilter=").append(messagesDroppedByFilter)
                .append(", oversizedMessagesDropped=").append(oversizedMessagesDropped)
                .append(", handshakesAccepted=").append(handshakesAccepted)
                .append(", reconnects=").append(reconnects);
        for (HandshakeRefusal r : HandshakeRefusal.values()) {
            b.append(", refused.").append(r).append('=').append(handshakesRefused(r));
        }
        return b.append('}').toString();
    }
}
