package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.BatchWriteResponse;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.CompareAndSetResponse;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteResponse;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.PutResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.WriteOp;
import io.flotilla.kv.proto.RecordRangesRequest;
import io.flotilla.kv.proto.RecordRangesResponse;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import io.flotilla.router.RouteTable;

/**
 * Applies the operation of one decoded {@link WriteCommand} to a group's keys: put, delete,
 * compare-and-set, an atomic batch, or (in the meta range) a record of range descriptors or of a
 * move ({@link PlacementRecords}). Every check comes first (limits, the range's epoch, every
 * key in the range, every batch condition), so a command either applies whole or changes nothing
 * and gets an error result. Stateless apart from the limits; called on the group's worker.
 */
final class WriteApplier {
    private final KvLimits limits;

    WriteApplier(KvLimits limits) {
        this.limits = limits;
    }

    WriteResult apply(WriteCommand c, RangeDescriptor range, RoundWrites kv) {
        Error tooLarge = limits.check(c);
        if (tooLarge != null) {
            return error(tooLarge);
        }
        if (c.getRangeEpoch() != range.getEpoch()) {
            return error(KvErrors.epochMismatch(range, c.getRangeEpoch()));
        }
        return switch (c.getOpCase()) {
            case PUT -> put(c.getPut().getKey(), c.getPut().getValue(), range, kv);
            case DELETE -> delete(c.getDelete().getKey(), range, kv);
            case COMPARE_AND_SET -> compareAndSet(c.getCompareAndSet(), range, kv);
            case BATCH_WRITE -> batch(c.getBatchWrite(), range, kv);
            case RECORD_RANGES -> recordRanges(c.getRecordRanges(), range, kv);
            case MOVE -> PlacementRecords.apply(c.getMove(), c.getProposedAtMs(), range, kv);
            case UPDATE_SETTINGS -> PlacementRecords.updateSettings(c.getUpdateSettings(), range, kv);
            case ADD_NODE -> PlacementRecords.addNode(c.getAddNode(), range, kv);
            // The state machine hands splits to RangeSplitter, between store writes; one here is a bug.
            case SPLIT -> error(KvErrors.internal("a split reached the write applier; nothing was written. This is a bug"
                    + " in the node: report it"));
            case OP_NOT_SET -> error(KvErrors.internal("a write command names no operation; nothing was written"));
        };
    }

    private static WriteResult put(ByteString key, ByteString value, RangeDescriptor range, RoundWrites kv) {
        if (!KeySpace.contains(range, key)) {
            return error(KvErrors.keyNotInRange(range, key));
        }
        kv.put(key, value);
        return WriteResult.newBuilder().setPut(PutResponse.getDefaultInstance()).build();
    }

    private static WriteResult delete(ByteString key, RangeDescriptor range, RoundWrites kv) {
        if (!KeySpace.contains(range, key)) {
            return error(KvErrors.keyNotInRange(range, key));
        }
        boolean existed = kv.get(key) != null;
        if (existed) {
            kv.delete(key);
        }
        return WriteResult.newBuilder().setDelete(DeleteResponse.newBuilder().setExisted(existed)).build();
    }

    private static WriteResult compareAndSet(CompareAndSetRequest cas, RangeDescriptor range, RoundWrites kv) {
        if (!KeySpace.contains(range, cas.getKey())) {
            return error(KvErrors.keyNotInRange(range, cas.getKey()));
        }
        ByteString current = kv.get(cas.getKey());
        CompareAndSetResponse.Builder response = CompareAndSetResponse.newBuilder();
        if (!holds(current, cas.getExpectAbsent(), cas.getExpectedValue())) {
            response.setCurrentFound(current != null);
            if (current != null) {
                response.setCurrentValue(current);
            }
            return WriteResult.newBuilder().setCompareAndSet(response).build();
        }
        if (cas.getDeleteOnSuccess()) {
            if (current != null) {
                kv.delete(cas.getKey());
            }
        } else {
            kv.put(cas.getKey(), cas.getNewValue());
        }
        return WriteResult.newBuilder().setCompareAndSet(response.setSucceeded(true)).build();
    }

    private static WriteResult batch(BatchWriteRequest batch, RangeDescriptor range, RoundWrites kv) {
        for (int i = 0; i < batch.getConditionsCount(); i++) {
            ByteString key = batch.getConditions(i).getKey();
            if (!KeySpace.contains(range, key)) {
                return error(KvErrors.keyNotInRange(range, key));
            }
        }
        for (int i = 0; i < batch.getOpsCount(); i++) {
            WriteOp op = batch.getOps(i);
            if (op.getOpCase() == WriteOp.OpCase.OP_NOT_SET) {
                return error(KvErrors.internal("operation " + i + " of a batch names neither put nor delete; nothing was written"));
            }
            ByteString key = op.hasPut() ? op.getPut().getKey() : op.getDelete().getKey();
            if (!KeySpace.contains(range, key)) {
                return error(KvErrors.keyNotInRange(range, key));
            }
        }
        for (int i = 0; i < batch.getConditionsCount(); i++) {
            Condition condition = batch.getConditions(i);
            ByteString current = kv.get(condition.getKey());
            if (!holds(current, condition.getExpectAbsent(), condition.getExpectedValue())) {
                BatchWriteResponse.Builder failed = BatchWriteResponse.newBuilder().setFailedCondition(i)
                        .setCurrentFound(current != null);
                if (current != null) {
                    failed.setCurrentValue(current);
                }
                return WriteResult.newBuilder().setBatchWrite(failed).build();
            }
        }
        for (WriteOp op : batch.getOpsList()) {
            if (op.hasPut()) {
                kv.put(op.getPut().getKey(), op.getPut().getValue());
            } else {
                kv.delete(op.getDelete().getKey());
            }
        }
        return WriteResult.newBuilder().setBatchWrite(BatchWriteResponse.newBuilder().setSucceeded(true)).build();
    }

    /**
     * Keeps each descriptor that is newer than the one the meta range holds for its range id: so a
     * record that arrives late (a leader that lost its leadership, a retry) never undoes a newer one.
     */
    private static WriteResult recordRanges(RecordRangesRequest record, RangeDescriptor range, RoundWrites kv) {
        if (!MetaRange.isMeta(range)) {
            return error(KvErrors.invalidArgument("range " + range.getRangeId() + " is not the meta range: only the meta"
                    + " range records range descriptors; nothing was written"));
        }
        int recorded = 0;
        for (RangeDescriptor incoming : record.getRangesList()) {
            ByteString key = MetaRange.key(incoming.getRangeId());
            ByteString held = kv.get(key);
            RangeDescriptor current = held == null ? null : MetaRange.parse(held);
            if (current == null || RouteTable.compareVersions(incoming, current) > 0) {
                kv.put(key, incoming.toByteString());
                recorded++;
            }
        }
        return WriteResult.newBuilder().setRecordRanges(RecordRangesResponse.newBuilder().setRecorded(recorded)).build();
    }

    private static boolean holds(ByteString current, boolean expectAbsent, ByteString expected) {
        return expectAbsent ? current == null : current != null && current.equals(expected);
    }

    static WriteResult error(Error e) {
        return WriteResult.newBuilder().setError(e).build();
    }
}
