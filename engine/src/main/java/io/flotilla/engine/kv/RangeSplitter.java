package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.engine.proto.SplitCommand;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.SplitRangeResponse;
import io.flotilla.raft.Entry;
import io.flotilla.router.KeyFormat;
import io.flotilla.router.KeySpace;

/**
 * Applies a {@link SplitCommand} to the range that carries it, the same way on every replica
 * (everything it decides comes from the command and the range's state). The range {@code [start,
 * end)} at epoch {@code e} keeps {@code [start, split_key)}, the new range takes {@code [split_key,
 * end)} on the same replicas, and both are at epoch {@code e + 1}. In this order:
 * <ol>
 *   <li>the new range's state is made from the range's as written — its keys at and above the split
 *       key, the client sessions (a retry of a write applied before the split, now routed to the new
 *       range, still gets its first answer), applied index 0 (its group's log starts empty) — and is
 *       durable before anything else happens ({@link KvStore#split});</li>
 *   <li>the range drops those keys in the same write as its new apply state (the split's index and
 *       the narrowed descriptor).</li>
 * </ol>
 * A crash after step 1 and before step 2 is durable applies the split again from the log: step 1
 * finds the new range made and leaves it (it may already have taken writes), step 2 runs again.
 * A crash inside step 1 leaves a half-made range that the node drops at start
 * ({@link KvStore#dropUnfinishedSplits}) before the log applies the split again.
 *
 * <p>A split the range cannot take (routed by an old epoch, a split key not strictly inside the
 * range, a new range id that is 0 or the range's own) changes nothing but the applied index, and its
 * result is the error. Called on the range's worker, between the store writes of a round.
 */
public final class RangeSplitter {
    /** A split that was applied: the range as it is now, and the new range. */
    record Split(RangeDescriptor left, RangeDescriptor right) {
    }

    private final KvStore store;

    RangeSplitter(KvStore store) {
        this.store = store;
    }

    /**
     * Applies the split command in entry {@code e} (the next entry {@code g} applies), writes and
     * publishes the range's new apply state, and keeps the result for the proposer. Returns the
     * split, or null if it was refused.
     */
    Split apply(GroupState g, Entry e) {
        WriteCommand c;
        try {
            c = WriteCommand.parseFrom(e.data());
        } catch (InvalidProtocolBufferException ex) {
            throw new IllegalStateException("entry " + e.index() + " of range " + g.groupId + " parsed before and not now", ex);
        }
        g.logTimeMs = Math.max(g.logTimeMs, c.getProposedAtMs());
        RangeDescriptor range = g.descriptor();
        Error refused = check(c, range);
        if (refused != null) {
            write(g, e.index(), range, null);
            g.roundResults.put(e.index(), WriteApplier.error(refused));
            return null;
        }
        SplitCommand split = c.getSplit();
        long epoch = range.getEpoch() + 1;
        RangeDescriptor left = range.toBuilder().setEndKey(split.getSplitKey()).setEpoch(epoch).build();
        RangeDescriptor right = range.toBuilder().setRangeId(split.getNewRangeId()).setStartKey(split.getSplitKey())
                .setEpoch(epoch).build();
        store.split(g.groupId, new ApplyState(0, g.logTimeMs, right));
        CrashPoints.reach(CrashPoints.SPLIT_CHILD_MADE);
        write(g, e.index(), left, split.getSplitKey());
        CrashPoints.reach(CrashPoints.SPLIT_APPLIED);
        g.roundResults.put(e.index(), WriteResult.newBuilder()
                .setSplit(SplitRangeResponse.newBuilder().setLeft(left).setRight(right)).build());
        return new Split(left, right);
    }

    /** The range's own write: the keys from {@code dropFrom} on (none if null) and its new apply state. */
    private void write(GroupState g, long index, RangeDescriptor range, ByteString dropFrom) {
        ApplyState after = new ApplyState(index, g.logTimeMs, range);
        try (KvStore.GroupWrite w = store.beginWrite(g.groupId)) {
            if (dropFrom != null) {
                w.deleteRange(dropFrom, g.descriptor().getEndKey());
            }
            w.commit(after);
        }
        g.publish(after);
    }

    /** Why the range cannot take the split, or null if it can. */
    static Error check(WriteCommand c, RangeDescriptor range) {
        if (c.getRangeEpoch() != range.getEpoch()) {
            return KvErrors.epochMismatch(range, c.getRangeEpoch());
        }
        SplitCommand split = c.getSplit();
        Error badKey = checkSplitKey(range, split.getSplitKey());
        if (badKey != null) {
            return badKey;
        }
        if (split.getNewRangeId() == 0 || split.getNewRangeId() == range.getRangeId()) {
            return KvErrors.invalidArgument("a split of range " + range.getRangeId() + " names new range id "
                    + split.getNewRangeId() + "; it must be another, non-zero id");
        }
        return null;
    }

    /** The command that splits a range at {@code epoch} at {@code splitKey}, the new range taking {@code newRangeId}. */
    public static WriteCommand command(long epoch, ByteString splitKey, long newRangeId, long nowMs) {
        return WriteCommand.newBuilder()
                .setProposedAtMs(nowMs)
                .setRangeEpoch(epoch)
                .setSplit(SplitCommand.newBuilder().setSplitKey(splitKey).setNewRangeId(newRangeId))
                .build();
    }

    /** Null if {@code key} lies strictly inside the range (a split there leaves both sides non-empty). */
    public static Error checkSplitKey(RangeDescriptor range, ByteString key) {
        boolean afterStart = KeySpace.compare(key, range.getStartKey()) > 0;
        boolean beforeEnd = range.getEndKey().isEmpty() || KeySpace.compare(key, range.getEndKey()) < 0;
        if (afterStart && beforeEnd) {
            return null;
        }
        if (key.equals(range.getStartKey())) {
            return KvErrors.invalidArgument("range " + range.getRangeId() + " already starts at " + KeyFormat.describe(key)
                    + ": there is nothing to split there");
        }
        return KvErrors.invalidArgument("cannot split range " + range.getRangeId() + " "
                + KeyFormat.describeInterval(range.getStartKey(), range.getEndKey()) + " at " + KeyFormat.describe(key)
                + ": the split key must lie strictly inside the range (after its start key, before its end)");
    }
}
