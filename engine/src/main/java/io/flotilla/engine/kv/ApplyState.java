package io.flotilla.engine.kv;

import io.flotilla.engine.proto.ApplyStateRecord;
import io.flotilla.kv.proto.RangeDescriptor;

/**
 * A group's apply state as stored with its keys, in the same atomic write: the last index applied,
 * the group's log time (the largest {@code proposed_at_ms} applied, which client sessions expire by)
 * and the range the group serves. Immutable; safe from any thread.
 */
public record ApplyState(long appliedIndex, long logTimeMs, RangeDescriptor descriptor) {
    public ApplyState {
        if (appliedIndex < 0 || logTimeMs < 0 || descriptor == null) {
            throw new IllegalArgumentException("bad apply state: applied " + appliedIndex + ", log time " + logTimeMs
                    + " ms, descriptor " + descriptor);
        }
    }

    /** The state of a range nothing has been applied to yet. */
    public static ApplyState initial(RangeDescriptor descriptor) {
        return new ApplyState(0, 0, descriptor);
    }

    public long groupId() {
        return descriptor.getRangeId();
    }

    public ApplyState advancedTo(long index, long logTimeMs) {
        return new ApplyState(index, logTimeMs, descriptor);
    }

    public byte[] encode() {
        return ApplyStateRecord.newBuilder().setAppliedIndex(appliedIndex).setLogTimeMs(logTimeMs)
                .setRange(descriptor).build().toByteArray();
    }

    /** @throws IllegalArgumentException if {@code bytes} are not an encoded apply state */
    public static ApplyState decode(byte[] bytes) {
        try {
            ApplyStateRecord r = ApplyStateRecord.parseFrom(bytes);
            return new ApplyState(r.getAppliedIndex(), r.getLogTimeMs(), r.getRange());
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalArgumentException("a stored apply state does not parse: " + e.getMessage(), e);
        }
    }
}
