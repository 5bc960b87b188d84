package io.flotilla.multiraft;

/**
 * A worker's counters. Written by the worker thread only; volatile so that other threads (the
 * node's accessors, benchmarks, tests) read recent values without locks.
 */
final class WorkerStats {
    volatile long rounds;
    volatile long logBatches;
    /** Log batches the log's full queue turned away; the round was submitted again later. */
    volatile long deferredBatches;
    volatile long droppedMessages;
    /** Sends to the {@link PeerSender}: one per destination node per flush of the outbox (one frame and one flush on the Netty transport). */
    volatile long peerSends;
    /** Messages in those sends. */
    volatile long peerMessagesSent;
    volatile long snapshotsSent;
    volatile long snapshotsInstalled;
    volatile long compactions;
    volatile long recordsRewritten;
    volatile long bytesRewritten;
    /** Tombstone set generations written (each one or a few of {@link #recordsRewritten}). */
    volatile long tombstoneSetsWritten;
    /** Reads that got no answer before their deadline. */
    volatile long readsTimedOut;
    volatile int awakeGroups;
    volatile int leaderGroups;
    volatile int hostedGroups;
    /** Groups whose replica here was removed (durable tombstones, recovered ones included). */
    volatile int tombstonedGroups;
}
