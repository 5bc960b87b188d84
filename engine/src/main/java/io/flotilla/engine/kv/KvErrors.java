package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.router.KeyFormat;
import io.flotilla.kv.proto.Busy;
import io.flotilla.kv.proto.EpochMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.Internal;
import io.flotilla.kv.proto.InvalidArgument;
import io.flotilla.kv.proto.KeyNotInRange;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.RangeNotFound;
import io.flotilla.kv.proto.SessionExpired;
import io.flotilla.kv.proto.TooLarge;

/**
 * The typed errors the apply path and the limits give, each with a message that says what happened
 * and what to do. Pure functions, safe from any thread.
 */
public final class KvErrors {
    private KvErrors() {
    }

    public static Error tooLarge(String limit, long size, long max) {
        return Error.newBuilder()
                .setMessage("the " + limit.replace('_', ' ') + " is " + size + " bytes or items, over the limit of " + max
                        + "; make it smaller (split a batch into several)")
                .setTooLarge(TooLarge.newBuilder().setLimit(limit).setSize(size).setMax(max))
                .build();
    }

    public static Error keyNotInRange(RangeDescriptor range, ByteString key) {
        return Error.newBuilder()
                .setMessage("key " + KeyFormat.describe(key) + " is not in range " + range.getRangeId() + " "
                        + KeyFormat.describeInterval(range.getStartKey(), range.getEndKey()) + "; refresh the route and send it to the range that holds it")
                .setKeyNotInRange(KeyNotInRange.newBuilder().setRange(range))
                .build();
    }

    public static Error epochMismatch(RangeDescriptor range, long requestEpoch) {
        return Error.newBuilder()
                .setMessage("range " + range.getRangeId() + " is at epoch " + range.getEpoch() + ", the request was routed by epoch "
                        + requestEpoch + "; refresh the route and retry")
                .setEpochMismatch(EpochMismatch.newBuilder().addRanges(range))
                .build();
    }

    /**
     * As {@link #epochMismatch(RangeDescriptor, long)}, carrying {@code current}: the descriptors this
     * node holds that cover the interval the request routed by (after a split, both halves), so the
     * client can route again without a lookup.
     */
    public static Error epochMismatch(RangeDescriptor range, long requestEpoch, java.util.List<RangeDescriptor> current) {
        return epochMismatch(range, requestEpoch).toBuilder()
                .setEpochMismatch(EpochMismatch.newBuilder().addAllRanges(current))
                .build();
    }

    public static Error invalidArgument(String message) {
        return Error.newBuilder()
                .setMessage(message)
                .setInvalidArgument(InvalidArgument.getDefaultInstance())
                .build();
    }

    public static Error busy(int retryAfterMs, String why) {
        return Error.newBuilder()
                .setMessage(why + "; retry after " + retryAfterMs + " ms")
                .setBusy(Busy.newBuilder().setRetryAfterMs(retryAfterMs))
                .build();
    }

    public static Error sessionExpired(long clientId, long groupId) {
        return Error.newBuilder()
                .setMessage("the session of client " + Long.toUnsignedString(clientId, 16) + " in range " + groupId
                        + " expired, so a retried write could apply twice and was refused; the outcome of the client's"
                        + " unanswered writes is unknown: read the keys, then continue with a new client id")
                .setSessionExpired(SessionExpired.getDefaultInstance())
                .build();
    }

    public static Error rangeNotFound(long groupId) {
        return Error.newBuilder()
                .setMessage("range " + groupId + " has no replica on this node; refresh the route and retry")
                .setRangeNotFound(RangeNotFound.getDefaultInstance())
                .build();
    }

    public static Error internal(String message) {
        return Error.newBuilder()
                .setMessage(message)
                .setInternal(Internal.getDefaultInstance())
                .build();
    }
}
