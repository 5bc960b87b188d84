package io.flotilla.multiraft;

import io.flotilla.raft.Check;
import io.flotilla.raft.Message;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Snapshot;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSender;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalSnapshotSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;
import io.flotilla.transport.snapshot.SnapshotRetention;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;
import org.agrona.concurrent.ManyToOneConcurrentArrayQueue;

/**
 * Snapshots between a worker's replicas and the node's {@link SnapshotChannel}. As leader:
 * capture a state machine image when the core needs one for a follower, stream it, and send the
 * Raft snapshot message only once the image arrived. As follower: step a snapshot message only
 * with its image on disk, restore the state machine from it once the snapshot's mark is durable,
 * and keep the file until the state machine holds that state durably. Owned by the worker thread,
 * except {@link #transferEnded}, which the channel's I/O thread calls.
 */
final class SnapshotShipping {
    /**
     * Transfer reports the channel may leave for the worker at once. Transfers in flight are bounded
     * by the channel's concurrency and queue, far below this, so a report is never dropped.
     */
    private static final int REPORT_QUEUE_CAPACITY = 4096;
    private static final byte[] NO_DATA = new byte[0];
    private static final System.Logger LOG = System.getLogger(SnapshotShipping.class.getName());

    /** How a snapshot transfer ended (from the snapshot channel, or at once when it could not start). */
    private record TransferEnded(long peer, long groupId, long index, boolean ok) {
    }

    private final long nodeId;
    /** Null: no channel, so logs are never compacted and no snapshot is ever needed. */
    private final SnapshotChannel streams;
    private final StateMachine stateMachine;
    private final ReplicaSet replicas;
    private final WorkerStats stats;
    private final ManyToOneConcurrentArrayQueue<TransferEnded> reports =
            new ManyToOneConcurrentArrayQueue<>(REPORT_QUEUE_CAPACITY);
    /** Transfers that could not start, reported to the core on the next round. */
    private final ArrayDeque<TransferEnded> localReports = new ArrayDeque<>();

    /** The core asks for a snapshot for a follower: capture the state machine's image at the applied index. */
    final WalSnapshotSource source = (groupId, latestMark) -> capture(groupId);

    SnapshotShipping(long nodeId, SnapshotChannel streams, StateMachine stateMachine, ReplicaSet replicas,
            WorkerStats stats) {
        this.nodeId = nodeId;
        this.streams = streams;
        this.stateMachine = stateMachine;
        this.replicas = replicas;
        this.stats = stats;
    }

    boolean enabled() {
        return streams != null;
    }

    // ---------------------------------------------------------------- leader side

    /**
     * Called from inside {@link RaftNode#step} or {@link RaftNode#tick}: an image of the state
     * machine at the applied index, where the core's membership and the state machine agree. Null
     * (the core asks again later) without a channel.
     */
    private Snapshot capture(long groupId) {
        Replica r = replicas.get(groupId);
        if (streams == null || r == null) {
            return null;
        }
        RaftNode n = r.node;
        long at = n.appliedIndex();
        long term = n.termAt(at);
        if (term <= 0) {
            return null;
        }
        OutgoingImage image = imageAt(r, at);
        if (image == null) {
            image = new OutgoingImage(groupId, at, term, stateMachine.snapshot(groupId));
            streams.publish(image);
            if (r.images == null) {
                r.images = new ArrayList<>(2);
            }
            r.images.add(image);
        }
        return new Snapshot(new SnapshotMetadata(at, term, n.confState()), NO_DATA);
    }

    private static OutgoingImage imageAt(Replica r, long index) {
        if (r.images != null) {
            for (OutgoingImage image : r.images) {
                if (image.index == index) {
                    return image;
                }
            }
        }
        return null;
    }

    /** A snapshot message from the core: stream its image first; the message follows when it arrived. */
    void startTransfer(Message m) {
        Replica r = replicas.get(m.groupId);
        long index = m.snapshot.metadata().index();
        OutgoingImage image = r == null || streams == null ? null : imageAt(r, index);
        SnapshotSender.SendResult result = image == null ? null : streams.send(m.to, image);
        if (result != SnapshotSender.SendResult.QUEUED) {
            // Not started (a transfer to that follower is still running, or the queue is full): the
            // core hears of the failure and asks again later.
            localReports.add(new TransferEnded(m.to, m.groupId, index, false));
            if (image != null && image.transfers == 0) {
                release(r, image);
            }
            return;
        }
        image.transfers++;
        if (r.heldSnapshots == null) {
            r.heldSnapshots = new Long2ObjectHashMap<>();
        }
        r.heldSnapshots.put(m.to, new Replica.HeldSnapshot(m, image));
        if (r.snapshotHolds == null) {
            r.snapshotHolds = new Long2LongHashMap(0);
        }
        r.snapshotHolds.put(m.to, index);
    }

    /** The snapshot images this leader is streaming to followers, and how far each got. */
    List<ReplicaReport.SnapshotTransfer> transfers(Replica r) {
        if (r.heldSnapshots == null || r.heldSnapshots.isEmpty()) {
            return List.of();
        }
        List<ReplicaReport.SnapshotTransfer> out = new ArrayList<>();
        r.heldSnapshots.forEach((peer, held) -> {
            SnapshotSender.Progress p = streams.transferProgress(peer, r.groupId);
            out.add(p == null ? new ReplicaReport.SnapshotTransfer(peer, held.image().index, 0, 0, 0)
                    : new ReplicaReport.SnapshotTransfer(peer, held.image().index, p.ackedBytes(), p.totalBytes(), p.attempts()));
        });
        return out;
    }

    private void release(Replica r, OutgoingImage image) {
        r.images.remove(image);
        streams.withdraw(image);
    }

    /** The snapshot channel's I/O thread: a transfer ended. */
    void transferEnded(long peer, long groupId, long index, boolean ok) {
        if (!reports.offer(new TransferEnded(peer, groupId, index, ok))) {
            LOG.log(System.Logger.Level.ERROR, "node " + nodeId + ": more than " + REPORT_QUEUE_CAPACITY
                    + " snapshot transfer reports queued; dropped the one of group " + groupId);
        }
    }

    /** Worker thread: transfers that ended since the last round; returns how many. */
    int drainReports(Outbox outbox) {
        int n = 0;
        TransferEnded s;
        while ((s = localReports.poll()) != null) {
            ended(s, outbox);
            n++;
        }
        while ((s = reports.poll()) != null) {
            ended(s, outbox);
            n++;
        }
        return n;
    }

    /** On success the held snapshot message goes out; either way the core hears of it. */
    private void ended(TransferEnded s, Outbox outbox) {
        Replica r = replicas.get(s.groupId());
        if (r == null) {
            return;
        }
        Replica.HeldSnapshot held = r.heldSnapshots == null ? null : r.heldSnapshots.get(s.peer());
        boolean delivered = false;
        if (held != null && held.image().index == s.index()) {
            r.heldSnapshots.remove(s.peer());
            if (--held.image().transfers == 0) {
                release(r, held.image());
            }
            if (s.ok()) {
                outbox.queue(held.message());
                delivered = true;
                stats.snapshotsSent++;
            } else if (r.snapshotHolds != null && r.snapshotHolds.get(s.peer()) == s.index()) {
                r.snapshotHolds.remove(s.peer());
            }
        }
        replicas.wake(r);
        r.node.reportSnapshot(s.peer(), delivered);
        replicas.markDirty(r);
    }

    /** The replica goes away: its images are withdrawn (transfers of them fail on the channel). */
    void releaseAll(Replica r) {
        if (r.images != null) {
            for (OutgoingImage image : r.images) {
                streams.withdraw(image);
            }
            r.images = null;
        }
    }

    // ---------------------------------------------------------------- follower side

    /** A follower steps a snapshot message only with the snapshot's image complete on its disk. */
    boolean imageReceived(Message m) {
        return streams != null && m.snapshot != null
                && streams.receivedImage(m.groupId, m.snapshot.metadata().index(), m.snapshot.metadata().term()) != null;
    }

    /** The snapshot's mark is durable: the state machine takes the received image; older images go. */
    void install(Replica r, SnapshotMetadata meta) {
        Path image = streams.receivedImage(r.groupId, meta.index(), meta.term());
        Check.state(image != null, "group %d: the image of the snapshot at %d term %d vanished before its restore",
                r.groupId, meta.index(), meta.term());
        long imageBytes = image.toFile().length();
        long startNs = System.nanoTime();
        restore(r.groupId, meta, image);
        streams.installed(imageBytes, System.nanoTime() - startNs);
        stats.snapshotsInstalled++;
        streams.deleteReceived(r.groupId, meta.index(), false);
        r.retainedImageIndex = meta.index();
        r.lastConfChangeIndex = Math.max(r.lastConfChangeIndex, meta.index());
    }

    /** The state machine holds the retained image's state durably: the file is no longer needed. */
    void dropRetainedImage(Replica r) {
        streams.deleteReceived(r.groupId, r.retainedImageIndex, true);
        r.retainedImageIndex = 0;
    }

    /**
     * Part of the log sweep: asks the channel to delete the received images (finished or partial)
     * that no group of this worker needs: those of groups it does not host (removed, unknown) and,
     * for hosted ones, those below what the group may still install. The deletion runs on the
     * channel's I/O thread; a failure is retried at the next sweep.
     */
    void retainNeeded(LongPredicate ownedHere, Iterable<WalGroupIndex> recovered, Iterable<WalGroupIndex> creating) {
        if (streams == null) {
            return;
        }
        SnapshotRetention.Builder keep = SnapshotRetention.builder(ownedHere);
        for (Replica r : replicas.all()) {
            keep.host(r.groupId, r.retainedImageIndex > 0 ? r.retainedImageIndex : r.node.appliedIndex() + 1);
        }
        // Not created yet: the image its log's snapshot mark names may be needed to restore it.
        for (WalGroupIndex index : recovered) {
            keep.host(index.groupId(), index.snapshotIndex());
        }
        for (WalGroupIndex index : creating) {
            keep.host(index.groupId(), 0);
        }
        streams.retainReceived(keep.build()).whenComplete((swept, error) -> {
            if (error != null) {
                LOG.log(System.Logger.Level.WARNING, "node " + nodeId + ": deleting received snapshot images no group"
                        + " needs failed; the next log sweep tries again", error);
            }
        });
    }

    /** The replica was removed: every image received for it goes. */
    void deleteReceived(long groupId) {
        if (streams != null) {
            streams.deleteReceived(groupId, Long.MAX_VALUE, true);
        }
    }

    /**
     * The log holds a snapshot mark past what the state machine has: the node stopped after making
     * a received snapshot's mark durable and before the state machine restored it (or the state
     * machine keeps nothing across restarts). The received image is still on disk: restore it.
     */
    void restoreRetainedImage(WalGroupIndex index) {
        long groupId = index.groupId();
        SnapshotMetadata meta = new SnapshotMetadata(index.snapshotIndex(), index.snapshotTerm(), index.snapshotConfState());
        Path image = streams == null ? null : streams.receivedImage(groupId, meta.index(), meta.term());
        Check.state(image != null, "node %d, group %d: the log holds a snapshot at index %d term %d, the state machine has "
                + "applied only %d, and no received image of that snapshot is kept", nodeId, groupId, meta.index(),
                meta.term(), stateMachine.appliedIndex(groupId));
        restore(groupId, meta, image);
    }

    private void restore(long groupId, SnapshotMetadata meta, Path image) {
        try {
            stateMachine.restore(groupId, meta, image);
        } catch (IOException e) {
            throw new UncheckedIOException("node " + nodeId + ", group " + groupId + ": restoring the snapshot at index "
                    + meta.index() + " from " + image + " failed", e);
        }
        Check.state(stateMachine.appliedIndex(groupId) == meta.index(),
                "group %d: the state machine restored a snapshot at %d but reports applied index %d", groupId,
                meta.index(), stateMachine.appliedIndex(groupId));
    }
}
