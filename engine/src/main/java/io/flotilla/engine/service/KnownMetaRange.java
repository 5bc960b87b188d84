package io.flotilla.engine.service;

import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The newest descriptor of the meta range this node has seen: its own replica's, or one that
 * another node answered a route lookup with. The meta range moves like any other range, so its
 * replicas are the cluster's first three nodes only until the first such move. A node without a
 * replica reads the meta range from the replicas this names, and answers route lookups with it; a
 * node whose replica was removed learns it here. Starts as the descriptor the cluster was made
 * with. Any thread.
 */
public final class KnownMetaRange {
    private final AtomicReference<RangeDescriptor> newest;

    public KnownMetaRange(RangeDescriptor initial) {
        this.newest = new AtomicReference<>(initial);
    }

    public RangeDescriptor get() {
        return newest.get();
    }

    /** Keeps {@code seen} if it describes the meta range at a newer epoch or conf version than the one known. */
    public void learn(RangeDescriptor seen) {
        if (seen != null && MetaRange.isMeta(seen)) {
            newest.accumulateAndGet(seen, (known, s) -> RouteTable.compareVersions(s, known) > 0 ? s : known);
        }
    }
}
