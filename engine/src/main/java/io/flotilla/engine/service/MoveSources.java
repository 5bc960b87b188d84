package io.flotilla.engine.service;

import io.flotilla.kv.proto.ListMovesResponse;

/** What the service reports about moves, from the node's parts that know: its snapshot sender and its move driver. Any thread. */
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
    };

    /** Bytes acknowledged and total of {@code groupId}'s snapshot on its way to {@code peerNodeId}, or null if none is. */
    long[] snapshotProgress(long peerNodeId, long groupId);

    /** The moves this node drives (only the meta range's leader drives any) and the last that ended. */
    ListMovesResponse moves();
}
