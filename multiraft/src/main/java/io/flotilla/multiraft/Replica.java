package io.flotilla.multiraft;

import io.flotilla.raft.Message;
import io.flotilla.raft.RaftNode;
import io.flotilla.raft.Ready;
import io.flotilla.wal.WalGroupIndex;
import io.flotilla.wal.WalGroupStorage;
import java.util.ArrayDeque;
import java.util.ArrayList;
import org.agrona.collections.Long2LongHashMap;
import org.agrona.collections.Long2ObjectHashMap;

/**
 * One group hosted by a worker: its Raft node, its log index and what the worker tracks for it
 * between rounds. Owned by the worker thread that hosts the group, for the replica's life.
 */
final class Replica {
    final long groupId;
    final RaftNode node;
    final WalGroupIndex index;
    final WalGroupStorage storage;
    /** What other threads may read about this replica; published after every handled Ready. */
    final GroupView view;

    /** The Ready submitted to the log and not yet advanced; at most one per group. */
    Ready outstanding;
    /**
     * The last log index handed to a Ready (so possibly sent to followers and persisted). A pending
     * proposal above it exists only in this replica's memory: if the replica goes away it can never
     * apply. (If the replica only loses leadership, the entry stays in its log and may still apply.)
     */
    long handedIndex;
    /** Proposals appended and not yet answered, in index order. */
    final ArrayDeque<PendingProposal> proposals = new ArrayDeque<>();
    /** Reads confirmed by ReadIndex, waiting for the state machine to reach their index. */
    final ArrayDeque<ClientRequests.PendingRead> readsWaitingForApply = new ArrayDeque<>();

    /** In the worker's dirty list: its Ready is looked at in the next round. */
    boolean dirty;
    /** Not ticked (quiescent); any message, proposal or read wakes it. */
    boolean asleep;
    /** The worker tick at which it last fell asleep (reports count the sleep, which its own ticks do not). */
    long asleepAtTick;
    /** A leader node that said it no longer leads this group, and the term we followed it in (0: none). */
    long resignedLeader;
    long resignedLeaderTerm;
    /** The leader node under whose sleepers this replica is filed (0: none). */
    long sleepsUnderNode;
    /** The soft state of the last Ready handled said this replica leads. */
    boolean leading;
    /** The worker tick at which it last woke: it stays awake for two heartbeats after. */
    long wokeAtTick;
    /** This node has been in the group's membership: leaving it later means the replica was removed. */
    boolean wasMember;
    /** Removed from its worker: every list that still holds it skips it. */
    boolean destroyed;
    /** Index of the latest conf change applied (conservatively, the applied index at start or the last snapshot). */
    long lastConfChangeIndex;

    // Log maintenance (LogMaintenance).
    /** Compaction submitted to the log up to here (may not be durable yet). */
    long compactingTo;
    /** In the worker's compaction candidates. */
    boolean compactionCandidate;
    /** Bytes of the group's last rewrite forward (its share of the node's rewritten live data). */
    long rewrittenBytes;
    /** First index of the log when a rewrite was refused as too large (0: none): not tried again until it compacts. */
    long rewriteRefusedAtFirstIndex;

    // Snapshot shipping (SnapshotShipping).
    /** A received snapshot image kept until the state machine's durable index reaches it (0 = none). */
    long retainedImageIndex;
    /** Images captured for followers, at most a few; null until the first. */
    ArrayList<OutgoingImage> images;
    /** Snapshot messages waiting for their image's transfer to end, by follower node. */
    Long2ObjectHashMap<HeldSnapshot> heldSnapshots;
    /**
     * As leader: the index of the snapshot being sent to each follower, until its match reaches it;
     * the log is not compacted past it (LogMaintenance), so the follower that installed it can go on
     * from the log instead of needing another. Null until the first.
     */
    Long2LongHashMap snapshotHolds;

    Replica(long groupId, RaftNode node, WalGroupStorage storage) {
        this.groupId = groupId;
        this.node = node;
        this.index = storage.index();
        this.storage = storage;
        this.view = new GroupView(groupId);
    }

    /** A proposal appended at {@code index} in {@code term}, waiting for its fate. */
    record PendingProposal(long index, long term, ProposalListener listener) {
    }

    /** A leader's snapshot message, sent once its image reached the follower. */
    record HeldSnapshot(Message message, OutgoingImage image) {
    }
}
