package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.engine.proto.WriteCommand;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.kv.proto.Error;
import io.flotilla.kv.proto.GetResponse;
import io.flotilla.kv.proto.KeyValue;
import io.flotilla.kv.proto.ClusterSettings;
import io.flotilla.kv.proto.MoveRecord;
import io.flotilla.kv.proto.NodeAddress;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.Response;
import io.flotilla.kv.proto.ScanRequest;
import io.flotilla.kv.proto.ScanResponse;
import io.flotilla.multiraft.StateMachine;
import io.flotilla.raft.ConfChange;
import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.router.KeySpace;
import io.flotilla.router.MetaRange;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
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
    private final RangeSplitter splitter;
    /** Told of every split this node applied; set before the runtime starts (see {@link #onSplit}). */
    private volatile SplitListener splitListener = (left, right) -> { };
    /** Groups with state, as loaded or created; a group absent here may still have state in the store. */
    private final ConcurrentHashMap<Long, GroupState> groups = new ConcurrentHashMap<>();

    public KvStateMachine(KvStore store, KvLimits limits, SessionConfig sessions) {
        this.store = store;
        this.limits = limits;
        this.sessionConfig = sessions;
        this.applier = new WriteApplier(limits);
        this.splitter = new RangeSplitter(store);
    }

    /** What hears of a split once it is written: the node starts the new range's group. */
    public interface SplitListener {
        /**
         * Range {@code left} (the one that was split, at its new epoch) gave up {@code right}, whose
         * state is now durable on this node. Called on the worker that applied the split.
         */
        void onSplit(RangeDescriptor left, RangeDescriptor right);
    }

    /** Sets who hears of splits; call before the runtime applies anything. */
    public void onSplit(SplitListener listener) {
        this.splitListener = listener;
    }

    /**
     * Drops the state of splits a crash left half made (see {@link KvStore#dropUnfinishedSplits});
     * the parent range's log applies them again. Call at start, before any group is created.
     * Returns the dropped range ids.
     */
    public List<Long> dropUnfinishedSplits() {
        return store.dropUnfinishedSplits();
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
        PendingRound pending = new PendingRound(batch.size());
        List<RangeSplitter.Split> splits = null;
        try {
            try {
                for (int i = 0; i < batch.size(); i++) {
                    long groupId = batch.groupId(i);
                    List<Entry> entries = batch.entries(i);
                    GroupState g = group(groupId);
                    if (g == null) {
                        throw new IllegalStateException("range " + groupId + " has no state on this node, so entries "
                                + entries.get(0).index() + ".." + entries.get(entries.size() - 1).index()
                                + " cannot apply: a replica needs bootstrap or a snapshot before its first entries");
                    }
                    g.roundResults.clear();
                    int next = 0;
                    while (next < entries.size()) {
                        if (pending.touched.contains(g)) {
                            // A group twice in one batch: its first part must be written before the second reads it.
                            pending.writeAndRestart();
                        }
                        pending.touched.add(g);
                        pending.before.add(g.published());
                        try (KvStore.GroupWrite part = pending.round.group(groupId)) {
                            next = applyRound(g, entries, next, part, pending.after);
                        }
                        if (next < entries.size()) {
                            // A split: it copies the range's state as written, so what came before goes first.
                            pending.writeAndRestart();
                            RangeSplitter.Split split = splitter.apply(g, entries.get(next));
                            if (split != null) {
                                splits = splits == null ? new ArrayList<>(1) : splits;
                                splits.add(split);
                            }
                            next++;
                        }
                    }
                }
                pending.round.commit();
            } finally {
                pending.round.close();
            }
        } catch (RuntimeException e) {
            // The store refused the round (fail-stop follows): what memory holds must not outlive it.
            for (int i = 0; i < pending.touched.size(); i++) {
                pending.touched.get(i).sessions = null;
                pending.touched.get(i).logTimeMs = pending.before.get(i).logTimeMs();
            }
            throw e;
        }
        pending.publish();
        if (splits != null) {
            for (RangeSplitter.Split split : splits) {
                splitListener.onSplit(split.left(), split.right());
            }
        }
    }

    /** The groups a worker round has applied into its store write so far, not yet written. */
    private final class PendingRound {
        final List<GroupState> touched;
        final List<ApplyState> before;
        final List<ApplyState> after;
        KvStore.RoundWrite round = store.beginRound();

        PendingRound(int groups) {
            touched = new ArrayList<>(groups);
            before = new ArrayList<>(groups);
            after = new ArrayList<>(groups);
        }

        /** Writes what is pending, publishes it and starts a new store write. */
        void writeAndRestart() {
            round.commit();
            round.close();
            publish();
            touched.clear();
            before.clear();
            after.clear();
            round = store.beginRound();
        }

        /** After the write: readers on other threads see the new apply states. */
        void publish() {
            for (int i = 0; i < touched.size(); i++) {
                touched.get(i).publish(after.get(i));
            }
        }
    }

    /**
     * Applies the group's entries from {@code from} into {@code write}, up to the end or to the first
     * split command (which {@link RangeSplitter} applies on its own), commits its part and adds the
     * new apply state to {@code states}. Returns the position where it stopped.
     */
    private int applyRound(GroupState g, List<Entry> entries, int from, KvStore.GroupWrite write, List<ApplyState> states) {
        long groupId = g.groupId;
        if (g.sessions == null) {
            g.sessions = ClientSessions.load(sessionConfig, groupId, store);
        }
        ApplyState before = g.published();
        long applied = before.appliedIndex();
        RangeDescriptor descriptor = before.descriptor();
        RoundWrites kv = new RoundWrites(store, groupId, write);
        int next = from;
        for (; next < entries.size(); next++) {
            Entry e = entries.get(next);
            if (e.index() != applied + 1) {
                throw new IllegalStateException("range " + groupId + " applied " + applied + " and was given entry "
                        + e.index());
            }
            if (e.type() == EntryType.CONF_CHANGE) {
                // The core applies it to the group's configuration; the descriptor follows, so that
                // clients and the meta range learn the new replicas (a conf version on).
                descriptor = MembershipChanges.apply(descriptor, ConfChange.decode(e.data()));
                applied = e.index();
                continue;
            }
            if (e.type() != EntryType.NORMAL || e.data().length == 0) {
                applied = e.index();
                continue;
            }
            WriteCommand c;
            try {
                c = WriteCommand.parseFrom(e.data());
            } catch (InvalidProtocolBufferException ex) {
                g.roundResults.put(e.index(), WriteApplier.error(KvErrors.internal("entry " + e.index() + " of range "
                        + groupId + " is not a write command (" + ex.getMessage() + "); nothing was written")));
                applied = e.index();
                continue;
            }
            if (c.hasSplit()) {
                break;
            }
            applied = e.index();
            g.roundResults.put(e.index(), applyCommand(g, kv, c));
        }
        g.sessions.writeChanged(write);
        ApplyState after = new ApplyState(applied, g.logTimeMs, descriptor);
        write.commit(after);
        states.add(after);
        return next;
    }

    private WriteResult applyCommand(GroupState g, RoundWrites kv, WriteCommand c) {
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
        return r == null ? null : getResponse(r.value(), r.appliedIndex());
    }

    /**
     * As {@link #get}, for a request checked against the range at {@code epoch}: if a split changed
     * the range since (the key may have moved, and the view would say "not found"), the answer is
     * EpochMismatch and the client routes again. Null if this node has no state for the range.
     */
    public Response.Builder get(long groupId, ByteString key, long epoch) {
        KvStore.ReadResult r = store.read(groupId, key);
        if (r == null) {
            return null;
        }
        Error moved = epochChanged(r.state().descriptor(), epoch);
        return moved != null ? Response.newBuilder().setError(moved)
                : Response.newBuilder().setGet(getResponse(r.value(), r.appliedIndex()));
    }

    /**
     * As {@link #get(long, ByteString, long)}, on the group's own worker, such as a linearizable
     * read released once the apply reached its read point: no write of the group can run meanwhile,
     * so the apply state published by the last round and one read of the key agree without the
     * RocksDB snapshot, the second read (of the stored apply state) and its decoding that a read on
     * another thread needs. Null if this node has no state for the range.
     */
    public Response.Builder getOnWorker(long groupId, ByteString key, long epoch) {
        GroupState g = groups.get(groupId);
        if (g == null) {
            return get(groupId, key, epoch);
        }
        ApplyState state = g.published();
        Error moved = epochChanged(state.descriptor(), epoch);
        return moved != null ? Response.newBuilder().setError(moved)
                : Response.newBuilder().setGet(getResponse(store.get(groupId, key), state.appliedIndex()));
    }

    private static GetResponse getResponse(ByteString value, long appliedIndex) {
        GetResponse.Builder response = GetResponse.newBuilder().setReadAtIndex(appliedIndex);
        if (value != null) {
            response.setFound(true).setValue(value);
        }
        return response.build();
    }

    /** EpochMismatch if the range is no longer at {@code epoch}, else null. */
    private static Error epochChanged(RangeDescriptor range, long epoch) {
        return range.getEpoch() == epoch ? null : KvErrors.epochMismatch(range, epoch);
    }

    /** As {@link #scan(long, ScanRequest, long)} at the range's current epoch, for tests and tools. */
    public ScanResponse scan(long groupId, ScanRequest request) {
        RangeDescriptor range = descriptor(groupId);
        Response.Builder r = range == null ? null : scan(groupId, request, range.getEpoch());
        return r == null || !r.hasScan() ? null : r.getScan();
    }

    /**
     * One page of the range's keys in {@code [start_key, end_key)} clipped to the range, from one
     * consistent view, at most {@link KvLimits#maxScanKeys()} keys (or the request's limit) and
     * {@link KvLimits#maxScanBytes()}; {@code read_at_index} says where it was read. If the view's
     * range is no longer at {@code epoch} (a split moved keys away, so the page could end early
     * with nothing said), the answer is EpochMismatch and the client routes the rest again. Null if
     * this node has no state for the range. Safe from any thread.
     */
    public Response.Builder scan(long groupId, ScanRequest request, long epoch) {
        RangeDescriptor range = descriptor(groupId);
        if (range == null) {
            return null;
        }
        Error moved = epochChanged(range, epoch);
        if (moved != null) {
            return Response.newBuilder().setError(moved);
        }
        ByteString start = KeySpace.compare(request.getStartKey(), range.getStartKey()) < 0 ? range.getStartKey()
                : request.getStartKey();
        ByteString end = minEnd(request.getEndKey(), range.getEndKey());
        KvStore.ScanPage page = store.scan(groupId, start, end, limits.scanPageKeys(request.getLimit()),
                limits.maxScanBytes(), request.getKeysOnly());
        if (page == null) {
            return null;
        }
        moved = epochChanged(page.state().descriptor(), epoch);
        if (moved != null) {
            return Response.newBuilder().setError(moved);
        }
        ScanResponse.Builder response = ScanResponse.newBuilder().addAllEntries(page.entries())
                .setReadAtIndex(page.appliedIndex()).setMore(page.more());
        if (page.more()) {
            response.setContinuationKey(page.continuationKey());
        }
        return Response.newBuilder().setScan(response);
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

    /** About how many bytes the range's keys and values take here (see {@link KvStore#approximateBytes}). Any thread. */
    public long approximateBytes(long groupId) {
        return store.approximateBytes(groupId);
    }

    /** The key at about half of the range's bytes, or null (see {@link KvStore#middleKey}). Any thread, off the apply path. */
    public ByteString middleKey(long groupId) {
        return store.middleKey(groupId);
    }

    /**
     * The descriptors the meta range has recorded, as this node's replica of it has applied them
     * (read page by page; each page from one view); empty if this node holds no replica of the meta
     * range. Entries that are not descriptors are skipped. Any thread, off the apply path.
     */
    public List<RangeDescriptor> recordedRanges() {
        return scanMeta(ByteString.EMPTY, MetaRange.SETTINGS_KEY, MetaRange::parse);
    }

    /** The moves the meta range records as in progress, as {@link #recordedRanges} reads descriptors. */
    public List<MoveRecord> recordedMoves() {
        return scanMeta(MetaRange.MOVES_START, ByteString.EMPTY, MetaRange::parseMove);
    }

    /** The cluster's settings as the meta range records them (the defaults if none, or no replica here). */
    public ClusterSettings recordedSettings() {
        List<ClusterSettings> settings = scanMeta(MetaRange.SETTINGS_KEY, MetaRange.MEMBERS_START, MetaRange::parseSettings);
        return settings.isEmpty() ? ClusterSettings.getDefaultInstance() : settings.get(0);
    }

    /** The nodes added to the cluster since it was made, as the meta range records them. */
    public List<NodeAddress> recordedMembers() {
        return scanMeta(MetaRange.MEMBERS_START, MetaRange.MOVES_START, MetaRange::parseMember);
    }

    private <T> List<T> scanMeta(ByteString start, ByteString end, Function<ByteString, T> parse) {
        List<T> recorded = new ArrayList<>();
        ByteString from = start;
        while (true) {
            KvStore.ScanPage page = store.scan(MetaRange.ID, from, end, limits.maxScanKeys(), limits.maxScanBytes(), false);
            if (page == null) {
                return recorded;
            }
            for (KeyValue entry : page.entries()) {
                T value = parse.apply(entry.getValue());
                if (value != null) {
                    recorded.add(value);
                }
            }
            if (!page.more()) {
                return recorded;
            }
            from = page.continuationKey();
        }
    }

    /** Every range of user keys with state on this node (the meta range is left out). Any thread. */
    public List<RangeDescriptor> ranges() {
        List<RangeDescriptor> ranges = allRanges();
        ranges.removeIf(MetaRange::isMeta);
        return ranges;
    }

    /** Every range with state on this node, the meta range included (a restarted node re-creates these groups). Any thread. */
    public List<RangeDescriptor> allRanges() {
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
