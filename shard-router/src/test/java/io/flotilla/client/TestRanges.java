package io.flotilla.client;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Descriptors, keys and waiting for the client tests. Pure helpers, any thread. */
final class TestRanges {
    private TestRanges() {
    }

    static RangeDescriptor range(long id, String start, String end, long epoch, long... voters) {
        RangeDescriptor.Builder range = RangeDescriptor.newBuilder().setRangeId(id).setStartKey(ByteString.copyFromUtf8(start))
                .setEndKey(ByteString.copyFromUtf8(end)).setEpoch(epoch).setConfVersion(1);
        for (long voter : voters) {
            range.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(voter).setRole(ReplicaRole.VOTER));
        }
        return range.build();
    }

    static byte[] bytes(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    static String text(byte[] bytes) {
        return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
    }

    /** Waits until {@code condition} holds, failing after {@code timeout}. */
    static void awaitCondition(String what, Duration timeout, BooleanSupplier condition) {
        long deadlineNs = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadlineNs > 0) {
                throw new AssertionError("timed out after " + timeout.toMillis() + " ms waiting for " + what);
            }
            LockSupport.parkNanos(1_000_000);
        }
    }
}
