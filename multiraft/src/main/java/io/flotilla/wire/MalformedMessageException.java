package io.flotilla.wire;

/**
 * Bytes from a peer that are not a valid Raft message batch: they do not parse, exceed the frame
 * limit, or parse into something the core must never see (an unknown type, node id 0, a gap in the
 * entries, ...). The message says what was wrong. The transport closes the connection for a frame
 * that is too big or does not parse, and drops (and counts) a single invalid message alone
 * ({@link MessageBatchCodec#decodeValidMessages}). Thrown or reported on the decoding thread (a
 * transport I/O thread); never a sign of a bug on this node.
 */
public final class MalformedMessageException extends RuntimeException {
    public MalformedMessageException(String message) {
        this(message, null);
    }

    // No stack trace: the text says what is wrong with a peer's bytes and this node's stack adds
    // nothing, while a hostile frame may hold two million invalid messages, each of which makes one.
    public MalformedMessageException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
