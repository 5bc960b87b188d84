package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.engine.rocks.RocksConfig;
import io.flotilla.engine.rocks.RocksKvStore;
import io.flotilla.kv.proto.BatchWriteRequest;
import io.flotilla.kv.proto.CompareAndSetRequest;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteRequest;
import io.flotilla.kv.proto.PutRequest;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.WriteOp;
import io.flotilla.multiraft.ApplyBatches;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Drives a {@link KvStateMachine} the way the runtime does (rounds of committed entries, results
 * taken right after each round) over either store. Test thread only.
 */
final class KvHarness implements AutoCloseable {
    /** The stores the apply tests run against. */
    enum StoreKind {
        MEMORY, ROCKS;

        KvStore open(Path dir) {
            return this == MEMORY ? new MemoryKvStore() : openRocks(dir);
        }
    }

    static RocksConfig rocksConfig(Path dir) {
        return new RocksConfig(dir, RocksConfig.DEFAULT_MAX_GROUPS, 32L << 20, 64L << 20, 1L << 20, 64L << 10, 1000, 2);
    }

    static RocksKvStore openRocks(Path dir) {
        return openRocksWith(rocksConfig(dir));
    }

    static RocksKvStore openRocksWith(RocksConfig config) {
        try {
            return RocksKvStore.open(config);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    final KvStore store;
    final KvStateMachine sm;
    long term = 1;

    KvHarness(KvStore store, KvLimits limits, SessionConfig sessions) {
        this.store = store;
        this.sm = new KvStateMachine(store, limits, sessions);
    }

    KvHarness(KvStore store) {
        this(store, KvLimits.defaults(), SessionConfig.defaults());
    }

    static RangeDescriptor range(long id, String start, String end, long epoch) {
        return RangeDescriptor.newBuilder().setRangeId(id).setStartKey(ByteString.copyFromUtf8(start))
                .setEndKey(ByteString.copyFromUtf8(end)).setEpoch(epoch).setConfVersion(1).build();
    }

    /** Applies one round of commands to {@code groupId}; returns their results in order. */
    List<WriteResult> round(long groupId, WriteCommand... commands) {
        List<Entry> entries = new ArrayList<>();
        long index = sm.appliedIndex(groupId);
        for (WriteCommand c : commands) {
            entries.add(Entry.normal(term, ++index, c.toByteArray()));
        }
        sm.apply(ApplyBatches.of(groupId, entries));
        List<WriteResult> results = new ArrayList<>();
        for (Entry e : entries) {
            results.add(sm.takeResult(groupId, e.index()));
        }
        return results;
    }

    WriteResult write(long groupId, WriteCommand c) {
        return round(groupId, c).get(0);
    }

    /** Applies raw entries (no-ops, conf changes, garbage). */
    void entries(long groupId, EntryType type, byte[]... payloads) {
        List<Entry> entries = new ArrayList<>();
        long index = sm.appliedIndex(groupId);
        for (byte[] p : payloads) {
            entries.add(new Entry(term, ++index, type, p));
        }
        sm.apply(ApplyBatches.of(groupId, entries));
    }

    String get(long groupId, String key) {
        var r = sm.get(groupId, ByteString.copyFromUtf8(key));
        return r.getFound() ? r.getValue().toStringUtf8() : null;
    }

    @Override
    public void close() {
        store.close();
    }

    // ---- commands -------------------------------------------------------------------------------

    static ByteString b(String s) {
        return ByteString.copyFromUtf8(s);
    }

    static WriteCommand.Builder put(String key, String value) {
        return WriteCommand.newBuilder().setRangeEpoch(1).setPut(PutRequest.newBuilder().setKey(b(key)).setValue(b(value)));
    }

    static WriteCommand.Builder delete(String key) {
        return WriteCommand.newBuilder().setRangeEpoch(1).setDelete(DeleteRequest.newBuilder().setKey(b(key)));
    }

    /** CAS: {@code expected} null means "expect absent". */
    static WriteCommand.Builder cas(String key, String expected, String value) {
        CompareAndSetRequest.Builder cas = CompareAndSetRequest.newBuilder().setKey(b(key)).setNewValue(b(value));
        if (expected == null) {
            cas.setExpectAbsent(true);
        } else {
            cas.setExpectedValue(b(expected));
        }
        return WriteCommand.newBuilder().setRangeEpoch(1).setCompareAndSet(cas);
    }

    static WriteCommand.Builder batch(List<Condition> conditions, List<WriteOp> ops) {
        return WriteCommand.newBuilder().setRangeEpoch(1)
                .setBatchWrite(BatchWriteRequest.newBuilder().addAllConditions(conditions).addAllOps(ops));
    }

    static Condition condition(String key, String expected) {
        Condition.Builder c = Condition.newBuilder().setKey(b(key));
        return expected == null ? c.setExpectAbsent(true).build() : c.setExpectedValue(b(expected)).build();
    }

    static WriteOp putOp(String key, String value) {
        return WriteOp.newBuilder().setPut(PutRequest.newBuilder().setKey(b(key)).setValue(b(value))).build();
    }

    static WriteOp deleteOp(String key) {
        return WriteOp.newBuilder().setDelete(DeleteRequest.newBuilder().setKey(b(key))).build();
    }

    /**
     * Adds a session: client, sequence, first unacknowledged sequence, proposal time. A client past its
     * first write (first unacknowledged above 1) is taken to have had an applied answer, as in the
     * usual case; {@link #firstWrites} builds one that has not.
     */
    static WriteCommand session(WriteCommand.Builder c, long client, long sequence, long firstUnacked, long atMs) {
        return c.setClientId(client).setSequence(sequence).setFirstUnackedSequence(firstUnacked).setProposedAtMs(atMs)
                .setSessionEstablished(firstUnacked > 1).build();
    }

    /** As {@link #session}, from a client that has not had an applied answer from the range yet. */
    static WriteCommand firstWrites(WriteCommand.Builder c, long client, long sequence, long firstUnacked, long atMs) {
        return c.setClientId(client).setSequence(sequence).setFirstUnackedSequence(firstUnacked).setProposedAtMs(atMs)
                .setSessionEstablished(false).build();
    }
}
