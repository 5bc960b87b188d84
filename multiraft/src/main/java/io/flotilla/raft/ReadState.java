package io.flotilla.raft;

/**
 * The answer to a {@link RaftNode#readIndex(long)} request: once the local state machine has applied
 * {@code index}, a read issued at request time may be served from it. When {@code ok} is false the
 * request failed (no leader, or leadership lost before it was confirmed) and should be retried.
 */
public record ReadState(long requestId, long index, boolean ok) {
}
