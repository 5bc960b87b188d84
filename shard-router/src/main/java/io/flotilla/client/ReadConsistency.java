package io.flotilla.client;

/** How fresh a read must be. Immutable, any thread. */
public enum ReadConsistency {
    /** The default: the range's leader confirms its leadership (ReadIndex) before it reads. */
    LINEARIZABLE(io.flotilla.kv.proto.ReadConsistency.LINEARIZABLE),
    /** Served by a leader that holds a lease without a round of heartbeats; else as LINEARIZABLE. */
    LEASE(io.flotilla.kv.proto.ReadConsistency.LEASE),
    /** Serializable: any replica, at its applied index, which may lag behind the leader's. */
    FOLLOWER(io.flotilla.kv.proto.ReadConsistency.FOLLOWER);

    private final io.flotilla.kv.proto.ReadConsistency wire;

    ReadConsistency(io.flotilla.kv.proto.ReadConsistency wire) {
        this.wire = wire;
    }

    io.flotilla.kv.proto.ReadConsistency wire() {
        return wire;
    }
}
