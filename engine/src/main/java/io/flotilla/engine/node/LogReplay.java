package io.flotilla.engine.node;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Waits at startup until every hosted range has re-applied what its log held committed: each
 * group's replica first appears with the commit index of its recovered hard state, and the replay
 * is over once its applied index reaches that. Runs on the starting thread, polling the runtime's
 * published views with a deadline (the workers do the replay).
 */
final class LogReplay {
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(1);

    /** Ranges whose replay finished, entries re-applied, and whether every range finished in time. */
    record Result(int ranges, int replayed, long entries, boolean complete) {
    }

    private LogReplay() {
    }

    static Result await(MultiRaftNode runtime, List<RangeDescriptor> ranges, long timeoutMs) {
        long deadlineNs = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        Map<Long, long[]> pending = new HashMap<>();
        for (RangeDescriptor r : ranges) {
            pending.put(r.getRangeId(), null);
        }
        long entries = 0;
        int done = 0;
        while (true) {
            for (var it = pending.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Long, long[]> e = it.next();
                GroupView view = runtime.groupView(e.getKey());
                if (view == null) {
                    continue;
                }
                if (e.getValue() == null) {
                    // First sight: {applied, commit} as recovered.
                    e.setValue(new long[] {view.appliedIndex(), view.commitIndex()});
                }
                long[] start = e.getValue();
                if (view.appliedIndex() >= start[1]) {
                    entries += start[1] - start[0];
                    done++;
                    it.remove();
                }
            }
            if (pending.isEmpty() || runtime.failure() != null || System.nanoTime() >= deadlineNs) {
                return new Result(ranges.size(), done, entries, pending.isEmpty());
            }
            LockSupport.parkNanos(POLL_NS);
        }
    }
}
