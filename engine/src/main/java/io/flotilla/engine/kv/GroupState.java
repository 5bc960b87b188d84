package io.flotilla.engine.kv;

import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.RangeDescriptor;
import java.util.HashMap;
import java.util.Map;

/**
 * What {@link KvStateMachine} holds in memory for one group: the apply state as of the last round
 * (published for readers on other threads), and, owned by the group's worker, the log time as the
 * current round advances it, the client sessions (loaded at the group's first round) and the results
 * of the round's writes until their proposers take them.
 */
final class GroupState {
    final long groupId;
    /** The apply state as of the end of the last round; written only by the worker. */
    private volatile ApplyState published;
    /** Worker-owned: the group's log time within the current round. */
    long logTimeMs;
    /** Worker-owned: null until the group's first round in this process. */
    ClientSessions sessions;
    /** Worker-owned: index → result of this round's writes. */
    final Map<Long, WriteResult> roundResults = new HashMap<>();

    GroupState(ApplyState state) {
        this.groupId = state.groupId();
        this.published = state;
        this.logTimeMs = state.logTimeMs();
    }

    ApplyState published() {
        return published;
    }

    void publish(ApplyState state) {
        published = state;
    }

    RangeDescriptor descriptor() {
        return published.descriptor();
    }
}
