package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.BatchWriteResponse;
import io.flotilla.kv.proto.CompareAndSetResponse;
import io.flotilla.kv.proto.Condition;
import io.flotilla.kv.proto.DeleteResponse;
import io.flotilla.kv.proto.EpochMismatch;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.Internal;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.PutResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.kv.proto.WriteOp;
import io.flotilla.multiraft.StateMachine;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.router.KeySpace;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * TEMPORARY STAND-IN, replaced at merge by the RocksDB state machine's {@code KvStateMachine} (same
 * public methods, built on a {@code KvStore}; this one has no store and keeps everything in memory,
 * so it never reports anything durable and the log keeps every entry). Just enough for the node and
 * its client service to run: puts, deletes, compare-and-set, batches, scans, a per-client table of
 * results so a retried write gets its first answer (no expiry, no bound), and the stale-epoch check at
 * apply. Called by worker threads for {@link StateMachine} (each group by its own worker); the read
 * methods from any thread.
 */
public final class KvStateMachine implements StateMachine {
    private static final int SCAN_PAGE_KEYS = 10_000;

    /** One range's state; written by its worker, read by anyone. */
    private static final class Range {
        volatile RangeDescriptor descriptor;
        volatile long appliedIndex;
        final ConcurrentSkipListMap<ByteString, ByteString> data =
                new ConcurrentSkipListMap<>(ByteString.unsignedLexicographicalComparator());
        /** Results of the entries applied in the worker's current round, by index (worker only). */
        final Map<Long, WriteResult> roundResults = new HashMap<>();
        /** Per client: results by sequence (worker only). */
        final Map<Long, Map<Long, WriteResult>> sessions = new HashMap<>();

        Range(RangeDescriptor descriptor) {
            this.descriptor = descriptor;
        }
    }

    private final KvLimits limits;
    private final ConcurrentHashMap<Long, Range> ranges = new ConcurrentHashMap<>();

    /** The stand-in's constructor; the real one takes a {@code KvStore} first. */
    public KvStateMachine(KvLimits limits, SessionConfig sessions) {
        this.limits = limits;
    }

    public WriteResult takeResult(long groupId, long index) {
        Range r = ranges.get(groupId);
        return r == null ? null : r.roundResults.remove(index);
    }

    public GetResponse get(long groupId, ByteString key) {
        Range r = ranges.get(groupId);
        if (r == null) {
            return GetResponse.getDefaultInstance();
        }
        long at = r.appliedIndex;
        ByteString v = r.data.get(key);
        return GetResponse.newBuilder().setFound(v != null).setValue(v == null ? ByteString.EMPTY : v).setReadAtIndex(at).build();
    }

    public ScanResponse scan(long groupId, ScanRequest request) {
        Range r = ranges.get(groupId);
        if (r == null) {
            return ScanResponse.getDefaultInstance();
        }
        RangeDescriptor d = r.descriptor;
        ByteString end = request.getEndKey().isEmpty() ? d.getEndKey() : request.getEndKey();
        NavigableMap<ByteString, ByteString> view = end.isEmpty() ? r.data.tailMap(request.getStartKey(), true)
                : r.data.subMap(request.getStartKey(), true, end, false);
        int limit = request.getLimit() == 0 ? SCAN_PAGE_KEYS : Math.min(request.getLimit(), SCAN_PAGE_KEYS);
        ScanResponse.Builder b = ScanResponse.newBuilder().setReadAtIndex(r.appliedIndex);
        for (Map.Entry<ByteString, ByteString> e : view.entrySet()) {
            if (b.getEntriesCount() == limit) {
                b.setMore(true).setContinuationKey(e.getKey());
                break;
            }
            b.addEntries(KeyValue.newBuilder().setKey(e.getKey()).setValue(request.getKeysOnly() ? ByteString.EMPTY : e.getValue()));
        }
        return b.build();
    }

    public RangeDescriptor descriptor(long groupId) {
        Range r = ranges.get(groupId);
        return r == null ? null : r.descriptor;
    }

    public List<RangeDescriptor> ranges() {
        List<RangeDescriptor> all = new ArrayList<>();
        for (Range r : ranges.values()) {
            all.add(r.descriptor);
        }
        all.sort((a, b) -> KeySpace.compare(a.getStartKey(), b.getStartKey()));
        return all;
    }

    public void bootstrap(List<RangeDescriptor> descriptors) {
        for (RangeDescriptor d : descriptors) {
            ranges.putIfAbsent(d.getRangeId(), new Range(d));
        }
    }

    @Override
    public void apply(ApplyBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            Range r = ranges.get(batch.groupId(i));
            if (r == null) {
                throw new IllegalStateException("group " + batch.groupId(i) + " applies entries but has no range state");
            }
            r.roundResults.clear();
            for (Entry e : batch.entries(i)) {
                if (e.type() == EntryType.NORMAL && e.data().length > 0) {
                    r.roundResults.put(e.index(), applyCommand(r, e.data()));
                }
                r.appliedIndex = e.index();
            }
        }
    }

    private WriteResult applyCommand(Range r, byte[] bytes) {
        WriteCommand c;
        try {
            c = WriteCommand.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            return error("the command does not decode: " + e.getMessage(), Error.newBuilder().setInternal(Internal.getDefaultInstance()));
        }
        Map<Long, WriteResult> session = null;
        if (c.getClientId() != 0) {
            session = r.sessions.computeIfAbsent(c.getClientId(), k -> new HashMap<>());
            WriteResult earlier = session.get(c.getSequence());
            if (earlier != null) {
                return earlier;
            }
            session.keySet().removeIf(seq -> seq < c.getFirstUnackedSequence());
        }
        WriteResult result;
        if (c.getRangeEpoch() != r.descriptor.getEpoch()) {
            result = error("range " + r.descriptor.getRangeId() + " is at epoch " + r.descriptor.getEpoch() + ", not "
                    + c.getRangeEpoch() + "; refresh the route and retry",
                    Error.newBuilder().setEpochMismatch(EpochMismatch.newBuilder().addRanges(r.descriptor)));
        } else if (limits.check(c) != null) {
            result = WriteResult.newBuilder().setError(limits.check(c)).build();
        } else {
            result = applyOp(r, c);
        }
        if (session != null) {
            session.put(c.getSequence(), result);
        }
        return result;
    }

    private static WriteResult applyOp(Range r, WriteCommand c) {
        switch (c.getOpCase()) {
            case PUT:
                r.data.put(c.getPut().getKey(), c.getPut().getValue());
                return WriteResult.newBuilder().setPut(PutResponse.getDefaultInstance()).build();
            case DELETE:
                boolean existed = r.data.remove(c.getDelete().getKey()) != null;
                return WriteResult.newBuilder().setDelete(DeleteResponse.newBuilder().setExisted(existed)).build();
            case COMPARE_AND_SET: {
                var cas = c.getCompareAndSet();
                ByteString current = r.data.get(cas.getKey());
                boolean ok = cas.getExpectAbsent() ? current == null : cas.getExpectedValue().equals(current);
                if (!ok) {
                    return WriteResult.newBuilder().setCompareAndSet(CompareAndSetResponse.newBuilder()
                            .setCurrentFound(current != null).setCurrentValue(current == null ? ByteString.EMPTY : current)).build();
                }
                if (cas.getDeleteOnSuccess()) {
                    r.data.remove(cas.getKey());
                } else {
                    r.data.put(cas.getKey(), cas.getNewValue());
                }
                return WriteResult.newBuilder().setCompareAndSet(CompareAndSetResponse.newBuilder().setSucceeded(true)).build();
            }
            case BATCH_WRITE: {
                var batch = c.getBatchWrite();
                for (int i = 0; i < batch.getConditionsCount(); i++) {
                    Condition cond = batch.getConditions(i);
                    ByteString current = r.data.get(cond.getKey());
                    if (cond.getExpectAbsent() ? current != null : !cond.getExpectedValue().equals(current)) {
                        return WriteResult.newBuilder().setBatchWrite(BatchWriteResponse.newBuilder().setFailedCondition(i)
                                .setCurrentFound(current != null).setCurrentValue(current == null ? ByteString.EMPTY : current)).build();
                    }
                }
                for (WriteOp op : batch.getOpsList()) {
                    if (op.hasPut()) {
                        r.data.put(op.getPut().getKey(), op.getPut().getValue());
                    } else {
                        r.data.remove(op.getDelete().getKey());
                    }
                }
                return WriteResult.newBuilder().setBatchWrite(BatchWriteResponse.newBuilder().setSucceeded(true)).build();
            }
            default:
                return error("the command carries no operation", Error.newBuilder().setInternal(Internal.getDefaultInstance()));
        }
    }

    private static WriteResult error(String message, Error.Builder kind) {
        return WriteResult.newBuilder().setError(kind.setMessage(message)).build();
    }

    @Override
    public long appliedIndex(long groupId) {
        Range r = ranges.get(groupId);
        return r == null ? 0 : r.appliedIndex;
    }

    /** Nothing is durable: the runtime keeps every entry of the log and a restart replays it. */
    @Override
    public long durableIndex(long groupId) {
        return 0;
    }

    /** Never needed while nothing is durable (logs are never compacted); kept simple: data and descriptor. */
    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        Range r = ranges.get(groupId);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(r.appliedIndex);
            byte[] d = r.descriptor.toByteArray();
            out.writeInt(d.length);
            out.write(d);
            out.writeInt(r.data.size());
            for (Map.Entry<ByteString, ByteString> e : r.data.entrySet()) {
                out.writeInt(e.getKey().size());
                out.write(e.getKey().toByteArray());
                out.writeInt(e.getValue().size());
                out.write(e.getValue().toByteArray());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return SnapshotSource.ofBytes(bytes.toByteArray());
    }

    @Override
    public void destroy(long groupId) {
        ranges.remove(groupId);
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(Files.readAllBytes(image)))) {
            long applied = in.readLong();
            Range r = new Range(RangeDescriptor.parseFrom(in.readNBytes(in.readInt())));
            for (int n = in.readInt(); n > 0; n--) {
                ByteString k = ByteString.copyFrom(in.readNBytes(in.readInt()));
                r.data.put(k, ByteString.copyFrom(in.readNBytes(in.readInt())));
            }
            if (applied != snapshot.index()) {
                throw new IOException(image + " holds group " + groupId + " at " + applied + ", not " + snapshot.index());
            }
            r.appliedIndex = applied;
            ranges.put(groupId, r);
        }
    }
}
