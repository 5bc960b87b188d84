package io.flotilla.multiraft;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.router.KeySpace;
import java.util.ArrayList;
import java.util.List;

/**
 * One simulated client's route cache, as the real client's locator keeps it: the descriptors it
 * last learned, by which it routes each key (range id and epoch). A descriptor learned later
 * replaces the cached ones it overlaps only if it is newer than all of them. That order is sound
 * because overlapping descriptors are always of one lineage: a split gives both halves the split
 * range's epoch plus one, so a descriptor that overlaps an older one of an ancestor has a higher
 * epoch than it. Owned by the seed's thread.
 */
final class KvRuntimeSimRoutes {
    /** Invariant: no two overlap. A handful of ranges per seed, so a list does. */
    private final List<RangeDescriptor> cached = new ArrayList<>();

    KvRuntimeSimRoutes(List<RangeDescriptor> initial) {
        for (RangeDescriptor d : initial) {
            learn(d);
        }
    }

    /** The cached range holding {@code key}, or null if the cache has none (it was dropped as stale). */
    RangeDescriptor route(ByteString key) {
        for (RangeDescriptor d : cached) {
            if (KeySpace.contains(d, key)) {
                return d;
            }
        }
        return null;
    }

    /** Takes {@code d} if it is newer than every cached descriptor it overlaps; returns whether it did. */
    boolean learn(RangeDescriptor d) {
        List<RangeDescriptor> overlapped = new ArrayList<>();
        for (RangeDescriptor c : cached) {
            if (overlaps(c, d)) {
                if (c.getEpoch() >= d.getEpoch()) {
                    return false;
                }
                overlapped.add(c);
            }
        }
        cached.removeAll(overlapped);
        cached.add(d);
        return true;
    }

    /**
     * Drops range {@code rangeId} from the cache unless the cached descriptor is newer than the
     * {@code epochSent} a request was routed by: the range answered that it is no longer at that
     * epoch, so the next request looks its key up again.
     */
    void forget(long rangeId, long epochSent) {
        cached.removeIf(c -> c.getRangeId() == rangeId && c.getEpoch() <= epochSent);
    }

    static boolean overlaps(RangeDescriptor a, RangeDescriptor b) {
        boolean aEndsAfterBStarts = a.getEndKey().isEmpty() || KeySpace.compare(a.getEndKey(), b.getStartKey()) > 0;
        boolean bEndsAfterAStarts = b.getEndKey().isEmpty() || KeySpace.compare(b.getEndKey(), a.getStartKey()) > 0;
        return aEndsAfterBStarts && bEndsAfterAStarts;
    }
}
