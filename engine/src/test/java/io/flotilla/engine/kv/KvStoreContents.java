package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** A group's user keys and metadata records as strings, for the store tests' assertions. Test thread only. */
public final class KvStoreContents {
    private KvStoreContents() {
    }

    /** Every user key of the group, in key order. */
    public static List<String> keys(KvStore store, long groupId) {
        return store.scan(groupId, ByteString.EMPTY, ByteString.EMPTY, Integer.MAX_VALUE, Long.MAX_VALUE, true).entries()
                .stream().map(kv -> kv.getKey().toStringUtf8()).toList();
    }

    /** Every metadata record of the group, by key. */
    public static Map<String, String> records(KvStore store, long groupId) {
        Map<String, String> records = new TreeMap<>();
        store.forEachMeta(groupId, ByteString.EMPTY, (k, v) -> records.put(k.toStringUtf8(), v.toStringUtf8()));
        return records;
    }
}
