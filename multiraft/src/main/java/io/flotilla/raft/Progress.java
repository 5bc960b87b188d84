package io.flotilla.raft;

/**
 * What a leader knows about one replica of its group (Raft paper's nextIndex/matchIndex, plus the
 * flow-control state of etcd's design). Owned by the leader's thread.
 *
 * <p>Invariant: {@code match < next}.
 */
final class Progress {
    /** How the leader sends entries to this replica. Codes are stable for traces. */
    enum State {
        /** Unknown match: one append at a time, then wait for the answer. */
        PROBE(0),
        /** Known match: stream appends optimistically, bounded by the inflight window. */
        REPLICATE(1),
        /** The entries it needs are compacted: a snapshot is on its way; send nothing else. */
        SNAPSHOT(2);

        final int code;

        State(int code) {
            this.code = code;
        }
    }

    long match;
    long next;
    State state = State.PROBE;
    /** In SNAPSHOT state: the index of the snapshot being sent. */
    long pendingSnapshot;
    /** In PROBE state: an append was sent and not yet answered. */
    boolean probeSent;
    /** Heard from since the last CheckQuorum round. */
    boolean recentActive;
    /** The leader's tick of the last answer from this replica (0: none yet); for reports only. */
    long heardAtTick;
    /** The leader's tick when the transport last reported this replica unreachable (0: never); for reports only. */
    long unreachableAtTick;
    boolean learner;
    /** Highest heartbeat round this replica acknowledged in the current term (for ReadIndex). */
    long ackedRound;
    final Inflights inflights;

    Progress(long next, int maxInflight, boolean learner) {
        this.next = next;
        this.inflights = new Inflights(maxInflight);
        this.learner = learner;
    }

    private void resetState(State s) {
        probeSent = false;
        pendingSnapshot = 0;
        state = s;
        inflights.reset();
    }

    void becomeProbe() {
        if (state == State.SNAPSHOT) {
            long pending = pendingSnapshot;
            resetState(State.PROBE);
            next = Math.max(match + 1, pending + 1);
        } else {
            resetState(State.PROBE);
            next = match + 1;
        }
    }

    void becomeReplicate() {
        resetState(State.REPLICATE);
        next = match + 1;
    }

    void becomeSnapshot(long snapshotIndex) {
        resetState(State.SNAPSHOT);
        pendingSnapshot = snapshotIndex;
    }

    /** An acknowledgement up to {@code index}; returns true if the match advanced. */
    boolean maybeUpdate(long index) {
        boolean updated = false;
        if (match < index) {
            match = index;
            updated = true;
            probeSent = false;
        }
        next = Math.max(next, index + 1);
        return updated;
    }

    /**
     * A rejection of the append at {@code rejected}; {@code matchHint} is the follower's guess of
     * where the logs agree. Returns false if the rejection is stale (answers an older append).
     */
    boolean maybeDecrTo(long rejected, long matchHint) {
        if (state == State.REPLICATE) {
            if (rejected <= match) {
                return false;
            }
            next = match + 1;
            return true;
        }
        if (next - 1 != rejected) {
            return false;
        }
        next = Math.max(Math.min(rejected, matchHint + 1), 1);
        probeSent = false;
        return true;
    }

    /** Records an append of {@code entryCount} entries ending at {@code lastIndex}. */
    void sentEntries(int entryCount, long lastIndex) {
        switch (state) {
            case REPLICATE -> {
                if (entryCount > 0) {
                    next = lastIndex + 1;
                    inflights.add(lastIndex);
                }
            }
            case PROBE -> probeSent = true;
            case SNAPSHOT -> throw new IllegalStateException("sending entries in SNAPSHOT state");
        }
    }

    boolean isPaused() {
        return switch (state) {
            case PROBE -> probeSent;
            case REPLICATE -> inflights.full();
            case SNAPSHOT -> true;
        };
    }

    @Override
    public String toString() {
        return state + " match=" + match + " next=" + next + (learner ? " learner" : "")
                + (state == State.SNAPSHOT ? " pendingSnapshot=" + pendingSnapshot : "")
                + " inflight=" + inflights.count();
    }
}
