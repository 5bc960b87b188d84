package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import java.util.List;

/**
 * Builds {@link StateMachine.ApplyBatch}es for engine tests (its constructor is the runtime's own).
 * Test thread only.
 */
public final class ApplyBatches {
    private ApplyBatches() {
    }

    /** A batch of one group's entries. */
    public static StateMachine.ApplyBatch of(long groupId, List<Entry> entries) {
        StateMachine.ApplyBatch batch = new StateMachine.ApplyBatch(1);
        batch.add(groupId, entries);
        return batch;
    }
}
