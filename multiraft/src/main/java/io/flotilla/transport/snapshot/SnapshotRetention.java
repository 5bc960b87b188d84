package io.flotilla.transport.snapshot;

import io.flotilla.raft.Check;
import java.util.Arrays;
import java.util.Objects;
import java.util.function.LongPredicate;

/**
 * Which received snapshot images a node still needs, as its runtime states it for a sweep of the
 * receiver ({@link SnapshotReceiver#retain}): among the groups in a <em>scope</em>, the groups
 * hosted here and, for each, the lowest snapshot index whose image it may still need. An image of a
 * group in the scope is needed only if the group is hosted and the image's index is at least that
 * group's {@code keepFromIndex}; every other image of a group in the scope (finished or partial, a
 * transfer in progress included) is discarded by the sweep. Images of groups outside the scope are
 * left alone: a worker that knows only its own groups rules only on them.
 *
 * <p>What a hosted group needs ({@code keepFromIndex}): the index of an image it restored and its
 * state machine does not yet hold durably (a crash must restore it again), else its applied index
 * + 1 (an image at or below what it applied is never installed: a follower ignores a snapshot at
 * or below its commit index, and applied <= commit).
 *
 * <p>Immutable: built on the caller's thread, read on the receiver's I/O thread. The scope
 * predicate is called on that I/O thread, so it must be a pure function of the group id (such as
 * "hashes to worker 3"), never a view of state a worker mutates.
 */
public final class SnapshotRetention {
    /** What a sweep removed, to log and count. */
    public record Swept(int transfersAborted, int partialsDeleted, int imagesDeleted, long bytesFreed) {
        public static final Swept NOTHING = new Swept(0, 0, 0, 0);

        Swept plus(Swept other) {
            return new Swept(transfersAborted + other.transfersAborted, partialsDeleted + other.partialsDeleted,
                    imagesDeleted + other.imagesDeleted, bytesFreed + other.bytesFreed);
        }
    }

    private final LongPredicate scope;
    /** Sorted ascending, distinct; {@code keepFromIndexes[i]} belongs to {@code groupIds[i]}. */
    private final long[] groupIds;
    private final long[] keepFromIndexes;

    private SnapshotRetention(LongPredicate scope, long[] groupIds, long[] keepFromIndexes) {
        this.scope = scope;
        this.groupIds = groupIds;
        this.keepFromIndexes = keepFromIndexes;
    }

    /**
     * Starts a retention that rules on the groups {@code scope} accepts: {@code id -> true} for the
     * whole node, or the ids one worker owns.
     */
    public static Builder builder(LongPredicate scope) {
        return new Builder(Objects.requireNonNull(scope, "scope"));
    }

    /** Whether an image of {@code groupId} at {@code index} is still needed (always, outside the scope). */
    public boolean needs(long groupId, long index) {
        if (!scope.test(groupId)) {
            return true;
        }
        int i = Arrays.binarySearch(groupIds, groupId);
        return i >= 0 && index >= keepFromIndexes[i];
    }

    /** How many hosted groups this retention names. */
    public int hostedGroups() {
        return groupIds.length;
    }

    @Override
    public String toString() {
        return "SnapshotRetention{" + groupIds.length + " hosted groups}";
    }

    /** Collects the hosted groups; used by one thread, then {@link #build} once. */
    public static final class Builder {
        private final LongPredicate scope;
        private long[] groupIds = new long[16];
        private long[] keepFromIndexes = new long[16];
        private int size;

        private Builder(LongPredicate scope) {
            this.scope = scope;
        }

        /**
         * {@code groupId} is hosted here and may still need its images at {@code keepFromIndex} and
         * above (see the class comment for what to pass).
         */
        public Builder host(long groupId, long keepFromIndex) {
            Check.argument(groupId > 0, "group id must be positive, was %d", groupId);
            Check.argument(keepFromIndex >= 0, "group %d: keepFromIndex must not be negative, was %d", groupId,
                    keepFromIndex);
            if (size == groupIds.length) {
                groupIds = Arrays.copyOf(groupIds, 2 * size);
                keepFromIndexes = Arrays.copyOf(keepFromIndexes, 2 * size);
            }
            groupIds[size] = groupId;
            keepFromIndexes[size] = keepFromIndex;
            size++;
            return this;
        }

        /** @throws IllegalArgumentException if a group was named twice or outside the scope */
        public SnapshotRetention build() {
            Integer[] order = new Integer[size];
            for (int i = 0; i < size; i++) {
                order[i] = i;
            }
            Arrays.sort(order, (a, b) -> Long.compare(groupIds[a], groupIds[b]));
            long[] ids = new long[size];
            long[] keepFrom = new long[size];
            for (int i = 0; i < size; i++) {
                ids[i] = groupIds[order[i]];
                keepFrom[i] = keepFromIndexes[order[i]];
                Check.argument(i == 0 || ids[i] != ids[i - 1], "group %d is named twice", ids[i]);
                Check.argument(scope.test(ids[i]), "group %d is hosted but outside the retention's scope", ids[i]);
            }
            return new SnapshotRetention(scope, ids, keepFrom);
        }
    }
}
