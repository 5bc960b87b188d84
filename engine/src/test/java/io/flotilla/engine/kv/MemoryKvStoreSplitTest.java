package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvStoreContents.keys;
import static io.flotilla.engine.kv.KvStoreContents.records;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.router.KeySpace;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@link MemoryKvStore}'s split, its clean-up of half-made splits and its range deletion: the same
 * contract the RocksDB store keeps (RocksKvStoreTest adds what a reopen finds). One test thread.
 */
class MemoryKvStoreSplitTest {
    private static final RangeDescriptor WHOLE = KeySpace.tile(1, 1, 1).get(0);
    /** Range 2 takes [c, n) of range 1's keys. */
    private static final RangeDescriptor MIDDLE =
            WHOLE.toBuilder().setRangeId(2).setStartKey(b("c")).setEndKey(b("n")).setEpoch(2).build();

    private static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    private static ApplyState at(RangeDescriptor range, long index) {
        return new ApplyState(index, 0, range);
    }

    /** A store with range 1 holding keys a, c, m, z and one session record at applied index 1. */
    private static MemoryKvStore filled(int maxGroups) {
        MemoryKvStore store = new MemoryKvStore(maxGroups);
        store.createGroups(List.of(ApplyState.initial(WHOLE)));
        try (KvStore.GroupWrite w = store.beginWrite(1)) {
            for (String key : List.of("a", "c", "m", "z")) {
                w.put(b(key), b("parent's " + key));
            }
            w.putMeta(b("session/9"), b("answer"));
            w.commit(at(WHOLE, 1));
        }
        return store;
    }

    @Test
    void theChildGetsTheKeysOfItsIntervalAndEveryRecord() {
        MemoryKvStore store = filled(8);
        assertThat(store.split(1, at(MIDDLE, 1))).isEqualTo(at(MIDDLE, 1));
        assertThat(keys(store, 2)).containsExactly("c", "m");
        assertThat(store.get(2, b("m"))).isEqualTo(b("parent's m"));
        assertThat(records(store, 2)).containsExactly(Map.entry("session/9", "answer"));
        assertThat(store.durableIndex(2)).isEqualTo(1);
        assertThat(keys(store, 1)).as("the parent is left as it is").containsExactly("a", "c", "m", "z");
        try (KvStore.GroupWrite w = store.beginWrite(1)) {
            w.deleteRange(b("c"), b("n"));
            w.commit(at(WHOLE, 2));
        }
        assertThat(keys(store, 1)).containsExactly("a", "z");
        assertThat(keys(store, 2)).as("copies, not views of the parent").containsExactly("c", "m");
    }

    @Test
    void aSplitAppliedAgainFindsTheChildMadeAndChangesNothing() {
        MemoryKvStore store = filled(8);
        store.split(1, at(MIDDLE, 1));
        try (KvStore.GroupWrite w = store.beginWrite(2)) {
            w.put(b("d"), b("child's own"));
            w.commit(at(MIDDLE, 2));
        }
        assertThat(store.split(1, at(MIDDLE, 1))).isEqualTo(at(MIDDLE, 2));
        assertThat(keys(store, 2)).containsExactly("c", "d", "m");
    }

    /** The state a crash inside a RocksDB split can leave: the parent's keys and apply state under the child's id. */
    private static void halfMadeChild(MemoryKvStore store) {
        store.createGroups(List.of(ApplyState.initial(MIDDLE)));
        try (KvStore.GroupWrite w = store.beginWrite(2)) {
            w.put(b("d"), b("half made"));
            w.commit(at(WHOLE, 1));
        }
    }

    @Test
    void aChildLeftHalfMadeIsDroppedAtStartOrMadeAgainByTheSplit() {
        MemoryKvStore store = filled(8);
        halfMadeChild(store);
        assertThat(store.dropUnfinishedSplits()).containsExactly(2L);
        assertThat(store.groupIds()).containsExactly(1L);
        assertThat(store.dropUnfinishedSplits()).isEmpty();
        assertThat(store.split(1, at(MIDDLE, 1))).isEqualTo(at(MIDDLE, 1));
        assertThat(keys(store, 2)).containsExactly("c", "m");

        store.dropGroup(2);
        halfMadeChild(store);
        assertThat(store.split(1, at(MIDDLE, 1))).isEqualTo(at(MIDDLE, 1));
        assertThat(keys(store, 2)).as("the half-made key is gone").containsExactly("c", "m");
        assertThat(store.dropUnfinishedSplits()).isEmpty();
    }

    @Test
    void aSplitIntoAFullStoreIsRefused() {
        MemoryKvStore store = filled(1);
        assertThatThrownBy(() -> store.split(1, at(MIDDLE, 1))).isInstanceOf(GroupLimitException.class);
        assertThat(store.groupIds()).containsExactly(1L);
    }

    @Test
    void deleteRangeRemovesTheUserKeysOfItsIntervalOnly() {
        MemoryKvStore store = filled(8);
        try (KvStore.GroupWrite w = store.beginWrite(1)) {
            w.deleteRange(b("b"), b("m"));
            w.deleteRange(b("z"), b("a"));
            w.commit(at(WHOLE, 2));
        }
        assertThat(keys(store, 1)).as("[b, m) gone; an interval that ends before it starts is empty")
                .containsExactly("a", "m", "z");
        try (KvStore.GroupWrite w = store.beginWrite(1)) {
            w.deleteRange(b("m"), ByteString.EMPTY);
            w.commit(at(WHOLE, 3));
        }
        assertThat(keys(store, 1)).containsExactly("a");
        assertThat(records(store, 1)).containsOnlyKeys("session/9");
    }
}
