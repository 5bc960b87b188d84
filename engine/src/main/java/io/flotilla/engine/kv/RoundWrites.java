package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import java.util.HashMap;
import java.util.Map;

/**
 * A group's user keys as one round of apply sees them: the store's values overlaid with the
 * round's own writes, which go both here (so later commands of the round read them) and into the
 * round's {@link KvStore.GroupWrite}. Owned by the group's worker for one round.
 */
final class RoundWrites {
    private static final Object DELETED = new Object();

    private final KvStore store;
    private final long groupId;
    private final KvStore.GroupWrite write;
    /** Key → its value (a ByteString) or {@link #DELETED}, for keys written this round. */
    private final Map<ByteString, Object> written = new HashMap<>();

    RoundWrites(KvStore store, long groupId, KvStore.GroupWrite write) {
        this.store = store;
        this.groupId = groupId;
        this.write = write;
    }

    /** The key's value as of the commands applied so far, or null. */
    ByteString get(ByteString key) {
        Object v = written.get(key);
        if (v != null) {
            return v == DELETED ? null : (ByteString) v;
        }
        return store.get(groupId, key);
    }

    void put(ByteString key, ByteString value) {
        written.put(key, value);
        write.put(key, value);
    }

    void delete(ByteString key) {
        written.put(key, DELETED);
        write.delete(key);
    }

    KvStore.GroupWrite write() {
        return write;
    }
}
