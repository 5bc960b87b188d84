package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.WriteOp;

/**
 * The size limits of keys, values, batches and scan pages. Immutable; safe from any thread. The node
 * calls {@link #check} before it proposes a write, so an oversized request gets TooLarge without
 * reaching the log; the state machine runs the same check again at apply (a command that got into
 * the log by another way is refused identically on every replica, and changes nothing).
 */
public final class KvLimits {
    public static final int DEFAULT_MAX_KEY_BYTES = 64 << 10;
    public static final int DEFAULT_MAX_VALUE_BYTES = 8 << 20;
    public static final int DEFAULT_MAX_BATCH_OPS = 1024;
    public static final long DEFAULT_MAX_BATCH_BYTES = 16L << 20;
    public static final int DEFAULT_MAX_SCAN_KEYS = 10_000;
    public static final long DEFAULT_MAX_SCAN_BYTES = 16L << 20;

    private final int maxKeyBytes;
    private final int maxValueBytes;
    private final int maxBatchOps;
    private final long maxBatchBytes;
    private final int maxScanKeys;
    private final long maxScanBytes;

    /**
     * @param maxKeyBytes   a key's size at most
     * @param maxValueBytes a value's size at most (also expected values of CAS and conditions)
     * @param maxBatchOps   operations plus conditions of one batch at most
     * @param maxBatchBytes keys and values of one batch, summed, at most
     * @param maxScanKeys   keys of one scan page at most
     * @param maxScanBytes  keys and values of one scan page at most (a page holds at least one key)
     */
    public KvLimits(int maxKeyBytes, int maxValueBytes, int maxBatchOps, long maxBatchBytes, int maxScanKeys,
            long maxScanBytes) {
        positive("maxKeyBytes", maxKeyBytes);
        positive("maxValueBytes", maxValueBytes);
        positive("maxBatchOps", maxBatchOps);
        positive("maxBatchBytes", maxBatchBytes);
        positive("maxScanKeys", maxScanKeys);
        positive("maxScanBytes", maxScanBytes);
        this.maxKeyBytes = maxKeyBytes;
        this.maxValueBytes = maxValueBytes;
        this.maxBatchOps = maxBatchOps;
        this.maxBatchBytes = maxBatchBytes;
        this.maxScanKeys = maxScanKeys;
        this.maxScanBytes = maxScanBytes;
    }

    /** Keys up to 64 KiB, values up to 8 MiB, batches up to 1,024 operations and 16 MiB, scan pages up to 10,000 keys and 16 MiB. */
    public static KvLimits defaults() {
        return new KvLimits(DEFAULT_MAX_KEY_BYTES, DEFAULT_MAX_VALUE_BYTES, DEFAULT_MAX_BATCH_OPS, DEFAULT_MAX_BATCH_BYTES,
                DEFAULT_MAX_SCAN_KEYS, DEFAULT_MAX_SCAN_BYTES);
    }

    private static void positive(String name, long value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, was " + value);
        }
    }

    /** Null if every key, value and the batch as a whole are within the limits, else the TooLarge error of the first one over. */
    public Error check(WriteCommand c) {
        return switch (c.getOpCase()) {
            case PUT -> firstOf(checkKey(c.getPut().getKey()), checkValue(c.getPut().getValue()));
            case DELETE -> checkKey(c.getDelete().getKey());
            case COMPARE_AND_SET -> checkCas(c.getCompareAndSet());
            case BATCH_WRITE -> checkBatch(c.getBatchWrite());
            case SPLIT -> checkKey(c.getSplit().getSplitKey());
            case RECORD_RANGES -> c.getRecordRanges().getRangesCount() > maxBatchOps
                    ? KvErrors.tooLarge("descriptors in one record", c.getRecordRanges().getRangesCount(), maxBatchOps) : null;
            case MOVE, UPDATE_SETTINGS, ADD_NODE, OP_NOT_SET -> null;
        };
    }

    public Error checkKey(ByteString key) {
        return key.size() > maxKeyBytes ? KvErrors.tooLarge("key", key.size(), maxKeyBytes) : null;
    }

    public Error checkValue(ByteString value) {
        return value.size() > maxValueBytes ? KvErrors.tooLarge("value", value.size(), maxValueBytes) : null;
    }

    private Error checkCas(CompareAndSetRequest cas) {
        return firstOf(checkKey(cas.getKey()), firstOf(checkValue(cas.getExpectedValue()), checkValue(cas.getNewValue())));
    }

    private Error checkBatch(BatchWriteRequest batch) {
        int ops = batch.getOpsCount() + batch.getConditionsCount();
        if (ops > maxBatchOps) {
            return KvErrors.tooLarge("batch_ops", ops, maxBatchOps);
        }
        long bytes = 0;
        for (Condition condition : batch.getConditionsList()) {
            Error e = firstOf(checkKey(condition.getKey()), checkValue(condition.getExpectedValue()));
            if (e != null) {
                return e;
            }
            bytes += condition.getKey().size() + condition.getExpectedValue().size();
        }
        for (WriteOp op : batch.getOpsList()) {
            ByteString key = op.hasPut() ? op.getPut().getKey() : op.getDelete().getKey();
            Error e = firstOf(checkKey(key), op.hasPut() ? checkValue(op.getPut().getValue()) : null);
            if (e != null) {
                return e;
            }
            bytes += key.size() + (op.hasPut() ? op.getPut().getValue().size() : 0);
        }
        return bytes > maxBatchBytes ? KvErrors.tooLarge("batch_bytes", bytes, maxBatchBytes) : null;
    }

    private static Error firstOf(Error a, Error b) {
        return a != null ? a : b;
    }

    /** Keys a scan page returns at most, for a request that asked for {@code requested} (0: as many as allowed). */
    public int scanPageKeys(int requested) {
        return requested <= 0 ? maxScanKeys : Math.min(requested, maxScanKeys);
    }

    public int maxKeyBytes() {
        return maxKeyBytes;
    }

    public int maxValueBytes() {
        return maxValueBytes;
    }

    public int maxBatchOps() {
        return maxBatchOps;
    }

    public long maxBatchBytes() {
        return maxBatchBytes;
    }

    public int maxScanKeys() {
        return maxScanKeys;
    }

    public long maxScanBytes() {
        return maxScanBytes;
    }
}
