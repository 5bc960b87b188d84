package io.flotilla.engine.service;

import io.flotilla.kv.proto.ListMovesResponse;

/**
 * The node's parts that the service needs for moves: its snapshot sender, its move driver, its data
 * directory, and whether it still rejoins (the balancer holds its moves until it is done). Any thread.
 */
public interface MoveSources {
    /** A node that reports no snapshots on their way and drives no moves. */
    MoveSources NONE = new MoveSources() {
        @Override
        public long[] snapshotProgress(long peerNodeId, long groupId) {
            return null;
        }

        @Override
        public ListMovesResponse moves() {
            return ListMovesResponse.getDefaultInstance();
        }

        @Override
        public void hosting(long groupId) {
        }

        @Override
        public boolean rejoining() {
            return false;
        }
    };

    /** Bytes acknowledged and total of {@code groupId}'s snapshot on its way to {@code peerNodeId}, or null if none is. */
    long[] snapshotProgress(long peerNodeId, long groupId);

    /** The moves this node drives (only the meta range's leader drives any) and the last that ended. */
    ListMovesResponse moves();

    /** Records durably, before it starts, that this node starts an empty replica of {@code groupId} as a move's target. */
    void hosting(long groupId);

    /** Whether this node still replaces the replicas it lost with its data directory ({@code --join}). */
    boolean rejoining();
}
