package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.TooLarge;
import io.flotilla.kv.proto.WriteOp;

/**
 * TEMPORARY STAND-IN, replaced at merge by the state machine's own {@code KvLimits}: the size limits
 * of keys, values and batches (issue 9, item 5), checked before anything is proposed. Immutable;
 * any thread.
 */
public final class KvLimits {
    private final int maxKeyBytes;
    private final int maxValueBytes;
    private final int maxBatchOps;
    private final long maxBatchBytes;

    private KvLimits(int maxKeyBytes, int maxValueBytes, int maxBatchOps, long maxBatchBytes) {
        this.maxKeyBytes = maxKeyBytes;
        this.maxValueBytes = maxValueBytes;
        this.maxBatchOps = maxBatchOps;
        this.maxBatchBytes = maxBatchBytes;
    }

    /** Key ≤ 64 KiB, value ≤ 8 MiB, batch ≤ 1,024 operations and ≤ 16 MiB. */
    public static KvLimits defaults() {
        return new KvLimits(64 << 10, 8 << 20, 1024, 16L << 20);
    }

    /** Null if the command is within every limit, else a TooLarge error. */
    public Error check(WriteCommand c) {
        switch (c.getOpCase()) {
            case PUT:
                return keyValue(c.getPut().getKey(), c.getPut().getValue());
            case DELETE:
                return checkKey(c.getDelete().getKey());
            case COMPARE_AND_SET:
                Error e = keyValue(c.getCompareAndSet().getKey(), c.getCompareAndSet().getNewValue());
                return e != null ? e : value(c.getCompareAndSet().getExpectedValue());
            case BATCH_WRITE:
                return batch(c);
            default:
                return null;
        }
    }

    public Error checkKey(ByteString key) {
        return key.size() > maxKeyBytes ? tooLarge("key", key.size(), maxKeyBytes) : null;
    }

    private Error value(ByteString value) {
        return value.size() > maxValueBytes ? tooLarge("value", value.size(), maxValueBytes) : null;
    }

    private Error keyValue(ByteString key, ByteString value) {
        Error e = checkKey(key);
        return e != null ? e : value(value);
    }

    private Error batch(WriteCommand c) {
        int ops = c.getBatchWrite().getOpsCount() + c.getBatchWrite().getConditionsCount();
        if (ops > maxBatchOps) {
            return tooLarge("batch_ops", ops, maxBatchOps);
        }
        long bytes = 0;
        for (Condition cond : c.getBatchWrite().getConditionsList()) {
            Error e = keyValue(cond.getKey(), cond.getExpectedValue());
            if (e != null) {
                return e;
            }
            bytes += cond.getKey().size() + cond.getExpectedValue().size();
        }
        for (WriteOp op : c.getBatchWrite().getOpsList()) {
            Error e = op.hasPut() ? keyValue(op.getPut().getKey(), op.getPut().getValue()) : checkKey(op.getDelete().getKey());
            if (e != null) {
                return e;
            }
            bytes += op.hasPut() ? op.getPut().getKey().size() + op.getPut().getValue().size() : op.getDelete().getKey().size();
        }
        return bytes > maxBatchBytes ? tooLarge("batch_bytes", bytes, maxBatchBytes) : null;
    }

    private static Error tooLarge(String limit, long size, long max) {
        return Error.newBuilder()
                .setMessage("the " + limit.replace('_', ' ') + " is " + size + " bytes or items, over the limit of " + max
                        + "; make it smaller (split a batch, store a large value in pieces)")
                .setTooLarge(TooLarge.newBuilder().setLimit(limit).setSize(size).setMax(max))
                .build();
    }
}
