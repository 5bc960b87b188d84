package io.flotilla.multiraft;

import io.flotilla.transport.snapshot.SnapshotRetention;
import io.flotilla.transport.snapshot.SnapshotSender;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * What the runtime uses of a node's snapshot channel: publish captured images and stream them to
 * followers (outcomes reported through {@code MultiRaftNode.snapshotSent}), and find, delete and
 * sweep the images this node received. {@link SnapshotStreams} is the channel over sockets and
 * files; the deterministic runtime simulation has its own. Threads as on {@link SnapshotStreams}:
 * a group's worker calls everything but {@link #attach}, which the runtime's constructor calls once.
 */
interface SnapshotChannel {
    /** The runtime whose workers hear how transfers ended. Called once, by its constructor. */
    void attach(MultiRaftNode runtime);

    /** Makes a captured image readable by the transfers. */
    void publish(OutgoingImage image);

    /** Withdraws an image no transfer uses any more and releases it. */
    void withdraw(OutgoingImage image);

    /** Queues a transfer of a published image to {@code peerNodeId}; the outcome reaches the group's worker. */
    SnapshotSender.SendResult send(long peerNodeId, OutgoingImage image);

    /** Any thread: how far the transfer of the group's snapshot to {@code peerNodeId} got, or null if unknown. */
    default SnapshotSender.Progress transferProgress(long peerNodeId, long groupId) {
        return null;
    }

    /** The complete, verified image of the group's snapshot at index / term, or null if none arrived. */
    Path receivedImage(long groupId, long index, long term);

    /** A received image of {@code bytes} was restored into the state machine in {@code durationNs} (for metrics). */
    default void installed(long bytes, long durationNs) {
    }

    /** Deletes the group's received images up to {@code index}, or below it if not {@code inclusive}. */
    void deleteReceived(long groupId, long index, boolean inclusive);

    /**
     * Deletes every received image (finished, partial or arriving) that {@code retention} says no
     * group needs. Never blocks; the future completes with what was deleted, on the channel's thread.
     */
    CompletableFuture<SnapshotRetention.Swept> retainReceived(SnapshotRetention retention);
}
