package io.flotilla.router;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import java.util.ArrayList;
import java.util.List;

/**
 * The order of keys and the ranges that tile the key space. Keys compare as unsigned bytes,
 * lexicographically (as RocksDB's default comparator does); an empty end key means "the end of the
 * key space". Pure functions, safe from any thread.
 */
public final class KeySpace {
    private KeySpace() {
    }

    /** Compares two keys as unsigned bytes, lexicographically. */
    public static int compare(ByteString a, ByteString b) {
        return ByteString.unsignedLexicographicalComparator().compare(a, b);
    }

    /** Whether {@code key} lies in {@code [range.start_key, range.end_key)}. */
    public static boolean contains(RangeDescriptor range, ByteString key) {
        return compare(key, range.getStartKey()) >= 0
                && (range.getEndKey().isEmpty() || compare(key, range.getEndKey()) < 0);
    }

    /**
     * {@code count} ranges that tile the whole key space evenly by the first two bytes of the key,
     * with ids {@code firstRangeId, firstRangeId + 1, ...}, epoch 1, conf version 1, and every node
     * of {@code voters} a voter. The first range starts at the empty key and the last one has no end.
     */
    public static List<RangeDescriptor> tile(int count, long firstRangeId, long... voters) {
        if (count < 1 || count > 65_536) {
            throw new IllegalArgumentException("a key space is tiled by 1 to 65,536 ranges, not " + count);
        }
        List<RangeDescriptor> ranges = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            RangeDescriptor.Builder range = RangeDescriptor.newBuilder()
                    .setRangeId(firstRangeId + i)
                    .setStartKey(i == 0 ? ByteString.EMPTY : boundary(i, count))
                    .setEndKey(i == count - 1 ? ByteString.EMPTY : boundary(i + 1, count))
                    .setEpoch(1)
                    .setConfVersion(1);
            for (long voter : voters) {
                range.addReplicas(ReplicaDescriptor.newBuilder().setNodeId(voter).setRole(ReplicaRole.VOTER));
            }
            ranges.add(range.build());
        }
        return ranges;
    }

    /** The two-byte key at which the {@code i}-th of {@code count} even slices of 0..65535 starts. */
    private static ByteString boundary(int i, int count) {
        int prefix = (int) ((long) i * 65_536 / count);
        return ByteString.copyFrom(new byte[] {(byte) (prefix >>> 8), (byte) prefix});
    }
}
