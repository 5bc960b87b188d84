package io.flotilla.router;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A cache of range descriptors, looked up by key. Updates are monotonic: a descriptor never
 * replaces a newer one, so a late answer from a stale replica cannot undo what a newer answer
 * taught. Pure and not thread-safe: one thread owns an instance (in the client, its I/O thread).
 *
 * <p>"Newer" compares {@code epoch} first (bumped by every split and merge), then
 * {@code conf_version} (bumped by every membership change). It is compared between any two
 * descriptors whose key intervals overlap, whatever their range ids: this relies on a split giving
 * both halves an epoch above the parent's, and a merge giving the result an epoch above both
 * inputs'.
 *
 * <p>Invariant: the cached descriptors do not overlap, and each range id appears at most once.
 */
public final class RouteTable {
    /** What {@link #update} did with a descriptor. */
    public enum UpdateOutcome {
        /** Cached; it evicted nothing or only older descriptors. */
        INSERTED,
        /** The same version as the cached descriptor of the same range and interval; nothing changed. */
        UNCHANGED,
        /** Ignored: a cached descriptor overlapping it is newer. */
        STALE
    }

    /** By start key, compared as unsigned bytes. */
    private final TreeMap<ByteString, RangeDescriptor> byStartKey = new TreeMap<>(ByteString.unsignedLexicographicalComparator());
    private final Map<Long, RangeDescriptor> byRangeId = new HashMap<>();

    /**
     * Orders two descriptors by version: epoch, then conf version. Positive when {@code a} is newer.
     */
    public static int compareVersions(RangeDescriptor a, RangeDescriptor b) {
        int byEpoch = Long.compareUnsigned(a.getEpoch(), b.getEpoch());
        return byEpoch != 0 ? byEpoch : Long.compareUnsigned(a.getConfVersion(), b.getConfVersion());
    }

    /** Whether the key intervals of two descriptors share at least one key. */
    /** Whether {@code range} has a replica (voter or learner) on node {@code nodeId}. */
    public static boolean hasReplicaOn(RangeDescriptor range, long nodeId) {
        for (int i = 0; i < range.getReplicasCount(); i++) {
            if (range.getReplicas(i).getNodeId() == nodeId) {
                return true;
            }
        }
        return false;
    }

    public static boolean overlaps(RangeDescriptor a, RangeDescriptor b) {
        return startsBeforeEndOf(a, b) && startsBeforeEndOf(b, a);
    }

    /** Whether {@code a} starts before {@code b} ends. */
    private static boolean startsBeforeEndOf(RangeDescriptor a, RangeDescriptor b) {
        return b.getEndKey().isEmpty() || KeySpace.compare(a.getStartKey(), b.getEndKey()) < 0;
    }

    /** The cached descriptor of the range holding {@code key}, or null if none is cached. */
    public RangeDescriptor lookup(ByteString key) {
        Map.Entry<ByteString, RangeDescriptor> floor = byStartKey.floorEntry(key);
        if (floor == null || !KeySpace.contains(floor.getValue(), key)) {
            return null;
        }
        return floor.getValue();
    }

    /** The cached descriptor of range {@code rangeId}, or null. */
    public RangeDescriptor byId(long rangeId) {
        return byRangeId.get(rangeId);
    }

    public int size() {
        return byStartKey.size();
    }

    /** The cached descriptors in key order. */
    public List<RangeDescriptor> descriptors() {
        return new ArrayList<>(byStartKey.values());
    }

    /**
     * Caches {@code incoming} unless a cached descriptor that overlaps it, or has its range id, is
     * newer. When cached, it evicts every older descriptor it overlaps (and an older descriptor of
     * the same range id), which may leave holes that the next lookup of a key in them fills.
     *
     * @throws IllegalArgumentException if the descriptor's interval is empty or inverted
     */
    public UpdateOutcome update(RangeDescriptor incoming) {
        checkWellFormed(incoming);
        List<RangeDescriptor> rivals = rivalsOf(incoming);
        boolean sameAsCached = false;
        for (RangeDescriptor cached : rivals) {
            int order = compareVersions(incoming, cached);
            if (order < 0) {
                return UpdateOutcome.STALE;
            }
            if (order == 0 && cached.getRangeId() == incoming.getRangeId()
                    && cached.getStartKey().equals(incoming.getStartKey())
                    && cached.getEndKey().equals(incoming.getEndKey())) {
                sameAsCached = true;
            }
        }
        if (sameAsCached && rivals.size() == 1) {
            // Same range, same version: keep whichever, but take the incoming replica list, which
            // can only differ if a node broke the conf_version rule; the newest answer is the best guess.
            remove(rivals.get(0));
            insert(incoming);
            return UpdateOutcome.UNCHANGED;
        }
        for (RangeDescriptor cached : rivals) {
            remove(cached);
        }
        insert(incoming);
        return UpdateOutcome.INSERTED;
    }

    /** {@link #update}s every descriptor in order; returns how many were {@link UpdateOutcome#INSERTED}. */
    public int updateAll(Collection<RangeDescriptor> incoming) {
        int inserted = 0;
        for (RangeDescriptor descriptor : incoming) {
            if (update(descriptor) == UpdateOutcome.INSERTED) {
                inserted++;
            }
        }
        return inserted;
    }

    /**
     * Forgets range {@code rangeId} if its cached descriptor is not newer than {@code version}
     * (the descriptor the caller routed by): a node said it does not host the range. Returns
     * whether anything was evicted. A newer cached descriptor was learned after the caller routed
     * and stays.
     */
    public boolean evict(RangeDescriptor version) {
        RangeDescriptor cached = byRangeId.get(version.getRangeId());
        if (cached == null || compareVersions(cached, version) > 0) {
            return false;
        }
        remove(cached);
        return true;
    }

    /** The cached descriptors that overlap {@code incoming} or have its range id. */
    private List<RangeDescriptor> rivalsOf(RangeDescriptor incoming) {
        List<RangeDescriptor> rivals = new ArrayList<>(2);
        // Only the descriptor starting at or before incoming's start, and those starting inside it, can overlap.
        Map.Entry<ByteString, RangeDescriptor> floor = byStartKey.floorEntry(incoming.getStartKey());
        if (floor != null && overlaps(floor.getValue(), incoming)) {
            rivals.add(floor.getValue());
        }
        Map<ByteString, RangeDescriptor> inside = incoming.getEndKey().isEmpty()
                ? byStartKey.tailMap(incoming.getStartKey(), false)
                : byStartKey.subMap(incoming.getStartKey(), false, incoming.getEndKey(), false);
        rivals.addAll(inside.values());
        RangeDescriptor sameId = byRangeId.get(incoming.getRangeId());
        if (sameId != null && !rivals.contains(sameId)) {
            rivals.add(sameId);
        }
        return rivals;
    }

    private void insert(RangeDescriptor descriptor) {
        byStartKey.put(descriptor.getStartKey(), descriptor);
        byRangeId.put(descriptor.getRangeId(), descriptor);
    }

    private void remove(RangeDescriptor descriptor) {
        byStartKey.remove(descriptor.getStartKey());
        byRangeId.remove(descriptor.getRangeId());
    }

    private static void checkWellFormed(RangeDescriptor descriptor) {
        if (!descriptor.getEndKey().isEmpty() && KeySpace.compare(descriptor.getStartKey(), descriptor.getEndKey()) >= 0) {
            throw new IllegalArgumentException("range " + descriptor.getRangeId() + " has an empty or inverted interval "
                    + KeyFormat.describeInterval(descriptor.getStartKey(), descriptor.getEndKey()));
        }
    }
}
