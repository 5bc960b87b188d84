package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.WriteOp;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A builder of an atomic write within one range: conditions that must all hold, and puts and
 * deletes that then apply together (or none does). Every key must lie in the same range. Mutable
 * and not thread-safe: the thread that builds it owns it; {@link FlotillaClient#batch} copies it.
 */
public final class WriteBatch {
    private final BatchWriteRequest.Builder request = BatchWriteRequest.newBuilder();
    private final List<ByteString> keys = new ArrayList<>();

    /** Writes {@code value} at {@code key}. */
    public WriteBatch put(byte[] key, byte[] value) {
        ByteString k = copyKey(key);
        request.addOps(WriteOp.newBuilder().setPut(PutRequest.newBuilder().setKey(k)
                .setValue(ByteString.copyFrom(Objects.requireNonNull(value, "value")))));
        return this;
    }

    /** Deletes {@code key} (nothing happens to an absent key). */
    public WriteBatch delete(byte[] key) {
        request.addOps(WriteOp.newBuilder().setDelete(DeleteRequest.newBuilder().setKey(copyKey(key))));
        return this;
    }

    /** Applies the batch only if {@code key} holds exactly {@code expected}. */
    public WriteBatch expectValue(byte[] key, byte[] expected) {
        request.addConditions(Condition.newBuilder().setKey(copyKey(key))
                .setExpectedValue(ByteString.copyFrom(Objects.requireNonNull(expected, "expected value"))));
        return this;
    }

    /** Applies the batch only if {@code key} is absent. */
    public WriteBatch expectAbsent(byte[] key) {
        request.addConditions(Condition.newBuilder().setKey(copyKey(key)).setExpectAbsent(true));
        return this;
    }

    public boolean isEmpty() {
        return request.getOpsCount() == 0 && request.getConditionsCount() == 0;
    }

    /** The request as it stands now. */
    BatchWriteRequest toRequest() {
        return request.build();
    }

    /** Every key the batch names, conditions and operations alike, in the order added. */
    List<ByteString> keys() {
        return List.copyOf(keys);
    }

    private ByteString copyKey(byte[] key) {
        ByteString k = ByteString.copyFrom(Objects.requireNonNull(key, "key"));
        keys.add(k);
        return k;
    }
}
