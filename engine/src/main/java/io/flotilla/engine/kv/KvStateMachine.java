package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.multiraft.StateMachine;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.router.KeySpace;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The key-value state machine of every range a node hosts, over a {@link KvStore}: it decodes each
 * committed {@link WriteCommand}, makes it exactly-once through the group's {@link ClientSessions},
 * applies it with {@link WriteApplier} and writes each group's round — keys, sessions and apply
 * state — as one atomic write. Empty entries (a new leader's no-op) and conf-change entries only
 * advance the applied index. A command that does not decode applies as an Internal error result:
 * bad input never stops the node.
 *
 * <p>Threads: {@link #apply}, {@link #takeResult}, {@link #snapshot}, {@link #restore} and
 * {@link #destroy} and {@link #getOnWorker} run on the worker that owns the group (the runtime's contract); workers share
 * nothing here but a concurrent map of groups (no lock on the apply path). {@link #get},
 * {@link #scan}, {@link #descriptor} and {@link #ranges} are safe from any thread.
 */
public final class KvStateMachine implements StateMachine {
    private final KvStore store;
    private final KvLimits limits;
    private final SessionConfig sessionConfig;
    private final WriteApplier applier;
    /** Groups with state, as loaded or created; a group absent here may still have state in the store. */
    private final ConcurrentHashMap<Long, GroupState> groups = new ConcurrentHashMap<>();

    public KvStateMachine(KvStore store, KvLimits limits, SessionConfig sessions) {
        this.store = store;
        this.limits = limits;
        this.sessionConfig = sessions;
        this.applier = new WriteApplier(limits);
    }

    /** Worker thread: the group's state, loaded from the store on first use; null if the store has none. */
    private GroupState group(long groupId) {
        GroupState g = groups.get(groupId);
        if (g != null) {
            return g;
        }
        ApplyState stored = store.applyState(groupId);
        return stored == null ? null : groups.computeIfAbsent(groupId, id -> new GroupState(stored));
    }

    @Override
    public void apply(ApplyBatch batch) {
        // One store write for the whole worker round (see KvStore.beginRound): with a write per group,
        // a round that touches 64 groups made 64 RocksDB writes, each joining RocksDB's write queue.
        List<GroupState> touched = new ArrayList<>(batch.size());
        List<ApplyState> before = new ArrayList<>(batch.size());
        List<ApplyState> after = new ArrayList<>(batch.size());
        try {
            KvStore.RoundWrite round = store.beginRound();
            try {
                for (int i = 0; i < batch.size(); i++) {
                    long groupId = batch.groupId(i);
                    GroupState g = group(groupId);
                    if (g == null) {
                        throw new IllegalStateException("range " + groupId + " has no state on this node, so entries "
                                + batch.entries(i).get(0).index() + ".." + batch.entries(i).get(batch.entries(i).size() - 1).index()
                                + " cannot apply: a replica needs bootstrap or a snapshot before its first entries");
                    }
                    if (touched.contains(g)) {
                        // A group twice in one batch: its first part must be written before the second reads it.
                        round.commit();
                        round.close();
                        publish(touched, after);
                        touched.clear();
                        before.clear();
                        after.clear();
                        round = store.beginRound();
                    }
                    touched.add(g);
                    before.add(g.published());
                    try (KvStore.GroupWrite part = round.group(groupId)) {
                        after.add(applyRound(g, batch.entries(i), part));
                    }
                }
                round.commit();
            } finally {
                round.close();
            }
        } catch (RuntimeException e) {
            // The store refused the round (fail-stop follows): what memory holds must not outlive it.
            for (int i = 0; i < touched.size(); i++) {
                touched.get(i).sessions = null;
                touched.get(i).logTimeMs = before.get(i).logTimeMs();
            }
            throw e;
        }
        publish(touched, after);
    }

    /** After the round's write: readers on other threads see the new apply states. */
    private static void publish(List<GroupState> groups, List<ApplyState> states) {
        for (int i = 0; i < groups.size(); i++) {
            groups.get(i).publish(states.get(i));
        }
    }

    /** Applies one group's entries of the round into {@code write} and commits its part; returns its new apply state. */
    private ApplyState applyRound(GroupState g, List<Entry> entries, KvStore.GroupWrite write) {
        long groupId = g.groupId;
        g.roundResults.clear();
        if (g.sessions == null) {
            g.sessions = ClientSessions.load(sessionConfig, groupId, store);
        }
        ApplyState before = g.published();
        long applied = before.appliedIndex();
        RoundWrites kv = new RoundWrites(store, groupId, write);
        for (Entry e : entries) {
            if (e.index() != applied + 1) {
                throw new IllegalStateException("range " + groupId + " applied " + applied + " and was given entry "
                        + e.index());
            }
            applied = e.index();
            if (e.type() == EntryType.NORMAL && e.data().length > 0) {
                g.roundResults.put(e.index(), applyCommand(g, kv, e));
            }
        }
        g.sessions.writeChanged(write);
        ApplyState after = new ApplyState(applied, g.logTimeMs, before.descriptor());
        write.commit(after);
        return after;
    }

    private WriteResult applyCommand(GroupState g, RoundWrites kv, Entry e) {
        WriteCommand c;
        try {
            c = WriteCommand.parseFrom(e.data());
        } catch (InvalidProtocolBufferException ex) {
            return WriteApplier.error(KvErrors.internal("entry " + e.index() + " of range " + g.groupId
                    + " is not a write command (" + ex.getMessage() + "); nothing was written"));
        }
        // Log time only moves forward; a value past 2^63 (as unsigned) reads as negative and is ignored.
        g.logTimeMs = Math.max(g.logTimeMs, c.getProposedAtMs());
        long client = c.getClientId();
        if (client != 0) {
            if (c.getSequence() == 0) {
                return WriteApplier.error(KvErrors.internal("a write of client " + Long.toHexString(client)
                        + " has sequence 0 (sequences start at 1); nothing was written"));
            }
            WriteResult answer = g.sessions.admit(client, c.getSequence(), c.getFirstUnackedSequence(), c.getSessionEstablished(), g.logTimeMs,
                    kv.write());
            if (answer != null) {
                return answer;
            }
        }
        WriteResult result = applier.apply(c, g.descriptor(), kv);
        if (client != 0 && !result.hasError()) {
            g.sessions.record(client, c.getSequence(), c.getFirstUnackedSequence(), g.logTimeMs, result, kv.write());
        }
        return result;
    }

    /**
     * The result of the write applied at {@code index} in the current round; call only from
     * ProposalListener.onApplied (worker thread). Returns null if unknown.
     */
    public WriteResult takeResult(long groupId, long index) {
        GroupState g = groups.get(groupId);
        return g == null ? null : g.roundResults.remove(index);
    }

    /** Reads of applied state; safe from any thread. Null if this node has no state for the range. */
    public GetResponse get(long groupId, ByteString key) {
        KvStore.ReadResult r = store.read(groupId, key);
        if (r == null) {
            return null;
        }
        GetResponse.Builder response = GetResponse.newBuilder().setReadAtIndex(r.appliedIndex());
        if (r.value() != null) {
            response.setFound(true).setValue(r.value());
        }
        return response.build();
    }

    /**
     * A read on the group's own worker, such as a linearizable read released once the apply reached
     * its read point: no write of the group can run meanwhile, so the applied index published by the
     * last round and one read of the key agree without the RocksDB snapshot, the second read (of the
     * stored apply state) and its decoding that {@link #get} needs on other threads. Null if this
     * node has no state for the range.
     */
    public GetResponse getOnWorker(long groupId, ByteString key) {
        GroupState g = groups.get(groupId);
        if (g == null) {
            return get(groupId, key);
        }
        ByteString value = store.get(groupId, key);
        GetResponse.Builder response = GetResponse.newBuilder().setReadAtIndex(g.published().appliedIndex());
        if (value != null) {
            response.setFound(true).setValue(value);
        }
        return response.build();
    }

    /**
     * One page of the range's keys in {@code [start_key, end_key)} clipped to the range, from one
     * consistent view, at most {@link KvLimits#maxScanKeys()} keys (or the request's limit) and
     * {@link KvLimits#maxScanBytes()}; {@code read_at_index} says where it was read. Null if this node
     * has no state for the range. Safe from any thread.
     */
    public ScanResponse scan(long groupId, ScanRequest request) {
        RangeDescriptor range = descriptor(groupId);
        if (range == null) {
            return null;
        }
        ByteString start = KeySpace.compare(request.getStartKey(), range.getStartKey()) < 0 ? range.getStartKey()
                : request.getStartKey();
        ByteString end = minEnd(request.getEndKey(), range.getEndKey());
        KvStore.ScanPage page = store.scan(groupId, start, end, limits.scanPageKeys(request.getLimit()),
                limits.maxScanBytes(), request.getKeysOnly());
        if (page == null) {
            return null;
        }
        ScanResponse.Builder response = ScanResponse.newBuilder().addAllEntries(page.entries())
                .setReadAtIndex(page.appliedIndex()).setMore(page.more());
        if (page.more()) {
            response.setContinuationKey(page.continuationKey());
        }
        return response.build();
    }

    /** The smaller of two exclusive ends, where empty means no end. */
    private static ByteString minEnd(ByteString a, ByteString b) {
        if (a.isEmpty()) {
            return b;
        }
        if (b.isEmpty()) {
            return a;
        }
        return KeySpace.compare(a, b) <= 0 ? a : b;
    }

    /** The range's descriptor as of the last applied round; null if this node has no state for it. Any thread. */
    public RangeDescriptor descriptor(long groupId) {
        // Readers never add to the map (a reader racing a destroy could bring the group back).
        GroupState g = groups.get(groupId);
        if (g != null) {
            return g.descriptor();
        }
        ApplyState stored = store.applyState(groupId);
        return stored == null ? null : stored.descriptor();
    }

    /** Every range with state on this node (a restarted node re-creates these groups). Any thread. */
    public List<RangeDescriptor> ranges() {
        List<RangeDescriptor> ranges = new ArrayList<>();
        for (long groupId : store.groupIds()) {
            RangeDescriptor d = descriptor(groupId);
            if (d != null) {
                ranges.add(d);
            }
        }
        return ranges;
    }

    /**
     * Creates state at applied index 0 for the ranges that have none, in one call to the store (one
     * RocksDB createColumnFamilies), durably; idempotent. Call before the node creates the groups.
     *
     * @throws GroupLimitException if the node would hold more ranges than its store allows
     */
    public void bootstrap(List<RangeDescriptor> ranges) {
        List<ApplyState> missing = new ArrayList<>();
        for (RangeDescriptor range : ranges) {
            if (store.applyState(range.getRangeId()) == null) {
                missing.add(ApplyState.initial(range));
            }
        }
        if (!missing.isEmpty()) {
            store.createGroups(missing);
        }
    }

    public KvLimits limits() {
        return limits;
    }

    @Override
    public long appliedIndex(long groupId) {
        GroupState g = group(groupId);
        return g == null ? 0 : g.published().appliedIndex();
    }

    @Override
    public long durableIndex(long groupId) {
        return store.durableIndex(groupId);
    }

    @Override
    public void requestDurable(long groupId) {
        store.requestDurable(groupId);
    }

    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        if (group(groupId) == null) {
            throw new IllegalStateException("range " + groupId + " has no state on this node to snapshot");
        }
        return store.exportImage(groupId);
    }

    @Override
    public void destroy(long groupId) {
        store.dropGroup(groupId);
        groups.remove(groupId);
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        groups.remove(groupId);
        ApplyState restored = store.importImage(groupId, image);
        if (restored.groupId() != groupId || restored.appliedIndex() != snapshot.index()) {
            throw new IOException(image + " holds range " + restored.groupId() + " at index " + restored.appliedIndex()
                    + ", not range " + groupId + " at the snapshot's index " + snapshot.index());
        }
        groups.put(groupId, new GroupState(restored));
    }
}
