package io.flotilla.multiraft;

import io.flotilla.raft.RaftReport;
import java.util.List;

/**
 * What one hosted replica can tell an operator about its group's health: its Raft core's
 * {@link RaftReport} and what the runtime adds (whether it sleeps, the snapshots it streams and how
 * far they got, how long a tick is). Built by the replica's worker on its own thread
 * ({@link MultiRaftNode#explain}); immutable, read anywhere.
 *
 * @param asleep quiescent: the worker stopped ticking it until a message, proposal or read wakes it
 * @param asleepTicks how long it has slept, in ticks: the replica's own clock ({@code raft.ticks()})
 *     stood still meanwhile, so every age the report gives in the replica's ticks is that much longer
 * @param tickIntervalMs how long one of the report's ticks is
 * @param snapshotsSending this replica, a leader, streaming a snapshot image to a follower
 */
public record ReplicaReport(RaftReport raft, boolean asleep, long asleepTicks, long tickIntervalMs,
        List<SnapshotTransfer> snapshotsSending) {

    /**
     * A snapshot image at {@code index} on its way to node {@code peer}: {@code ackedBytes} of
     * {@code totalBytes} are durable there (both 0 while not connected yet, or without a channel
     * that counts), over {@code attempts} connections.
     */
    public record SnapshotTransfer(long peer, long index, long ackedBytes, long totalBytes, int attempts) {
    }
}
