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
 * Waits at startup until every hosted range has re-applied what its log held committed: the replay
 * of a group is over once its applied index reaches the commit index its replica showed when first
 * seen (its recovered hard state's, or later). Counts the entries applied meanwhile, from the state
 * machine's applied index before the groups were created. Runs on the starting thread, polling the
 * runtime's published views with a deadline (the workers do the replay).
 */
final class LogReplay {
    private static final long POLL_NS = TimeUnit.MILLISECONDS.toNanos(1);

    /** Ranges whose replay finished, entries applied since the start, and whether every range finished in time. */
    record Result(int ranges, int replayed, long entries, boolean complete) {
    }

    private LogReplay() {
    }

    /** {@code appliedAtStart}: each range's applied index in the state machine before its group was created. */
    static Result await(MultiRaftNode runtime, List<RangeDescriptor> ranges, Map<Long, Long> appliedAtStart,
            long timeoutMs) {
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
                    e.setValue(new long[] {view.commitIndex()});
                }
                long applied = view.appliedIndex();
                if (applied >= e.getValue()[0]) {
                    entries += applied - appliedAtStart.getOrDefault(e.getKey(), 0L);
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
