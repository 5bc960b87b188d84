package io.flotilla.sim;

import io.flotilla.check.OpKind;

/**
 * One client operation from call to completion: what was asked, when, and which attempt is current.
 * Owned by the single thread that runs the seed.
 */
final class SimOp {
    final SimClient client;
    final OpKind kind;
    final long seq;
    final String key;
    /** CAS only; null means "key absent". */
    final String expected;
    /** WRITE and CAS only. */
    final String value;
    final long callTimeUs;
    /** Completed, recorded as unknown, or dropped: nothing may record it again. */
    boolean done;
    /** Bumped by every attempt; a retry timer only acts if no later attempt started. */
    int attempts;
    /** The read-index request of the current read attempt; refusals of older ones are ignored. */
    long readRequestId;

    SimOp(SimClient client, OpKind kind, long seq, String key, String expected, String value, long callTimeUs) {
        this.client = client;
        this.kind = kind;
        this.seq = seq;
        this.key = key;
        this.expected = expected;
        this.value = value;
        this.callTimeUs = callTimeUs;
    }

    SimCommand command() {
        return new SimCommand(client.clientId, seq, kind == OpKind.CAS, key, expected, value);
    }
}
