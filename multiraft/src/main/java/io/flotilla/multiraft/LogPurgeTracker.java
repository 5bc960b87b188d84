package io.flotilla.multiraft;

import io.flotilla.wal.Wal;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * The node's side of purging its shared log. Each worker owns one slot: on its log sweep it
 * publishes the oldest segment any of its groups (or records it has in flight) still needs, and how
 * many bytes its last rewrites of lagging groups took. Worker 0 deletes the segments below the
 * oldest of all slots once every worker has published. Slots are written by their worker only;
 * {@link #purge} runs on worker 0 only; the counters are read by any thread.
 *
 * <p>Why a published value stays safe after it was published: records a worker submits later land
 * in the segment active at submission or a later one, and its published value is at most the segment
 * that was active when it swept; records already written only ever die (a rewrite leaves the old
 * copy dead). So a value that was a lower bound of every live record's segment remains one.
 */
final class LogPurgeTracker {
    /** Not yet published: nothing may be purged before every worker has swept once. */
    private static final long UNPUBLISHED = -1;
    private static final System.Logger LOG = System.getLogger(LogPurgeTracker.class.getName());

    private final long nodeId;
    private final AtomicLongArray oldestLiveSegments;
    private final AtomicLongArray rewrittenLiveBytes;
    /** Worker 0 only: every segment below this one is already deleted (-1: not purged since opening). */
    private long purgedBelow = -1;
    private volatile long segmentsPurged;

    LogPurgeTracker(long nodeId, int workers) {
        this.nodeId = nodeId;
        this.oldestLiveSegments = new AtomicLongArray(workers);
        this.rewrittenLiveBytes = new AtomicLongArray(workers);
        for (int i = 0; i < workers; i++) {
            oldestLiveSegments.set(i, UNPUBLISHED);
        }
    }

    /** Worker {@code workerId}'s thread, once per log sweep. */
    void publish(int workerId, long oldestLiveSegment, long rewrittenBytes) {
        rewrittenLiveBytes.set(workerId, rewrittenBytes);
        oldestLiveSegments.set(workerId, oldestLiveSegment);
    }

    /**
     * How far behind the active segment a group's oldest live record may be before it is rewritten
     * forward: {@code minLagSegments}, or twice the live bytes the node's rewrites carry if that is
     * more. A fixed window smaller than the live data would never settle: rewriting everything
     * moves the active segment past the window again, and an idle node would rewrite forever. With
     * the window at least twice the rewritten live data, a rewrite never makes its own groups lag,
     * and each byte written causes at most about one byte rewritten.
     */
    long lagSegments(int minLagSegments, int segmentBytes) {
        long live = 0;
        for (int i = 0; i < rewrittenLiveBytes.length(); i++) {
            live += rewrittenLiveBytes.get(i);
        }
        return Math.max(minLagSegments, 2 * live / segmentBytes + 1);
    }

    /**
     * Worker 0: deletes the segments below every worker's oldest live segment, if that moved since
     * the last purge. A failed delete loses nothing (the segment is only kept longer): it is logged
     * and the next sweep tries again.
     */
    void purge(Wal wal) {
        long oldest = Long.MAX_VALUE;
        for (int i = 0; i < oldestLiveSegments.length(); i++) {
            long segment = oldestLiveSegments.get(i);
            if (segment == UNPUBLISHED) {
                return;
            }
            oldest = Math.min(oldest, segment);
        }
        if (oldest <= purgedBelow) {
            return;
        }
        try {
            segmentsPurged += wal.purgeBelow(oldest);
            purgedBelow = oldest;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": deleting log segments below " + oldest
                    + " failed (" + e + "); they are kept and the next log sweep tries again");
        }
    }

    /** Segment files deleted since the node started. */
    long segmentsPurged() {
        return segmentsPurged;
    }
}
