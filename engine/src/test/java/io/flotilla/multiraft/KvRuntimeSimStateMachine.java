package io.flotilla.multiraft;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.raft.Entry;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.function.LongFunction;

/**
 * One node incarnation's state machine in the key-value runtime simulation: the engine's
 * {@link KvStateMachine} — command decoding, sessions, CAS, batches, limits, exactly as a RocksDB
 * node runs them — over a {@link KvRuntimeSimStore}, with what the simulation adds around it: the
 * failpoint, the report of every applied entry to the simulation's checker, and the bootstrap of a
 * replica the operator added to a group, which the node process does when it creates a replica
 * that starts from the log's first entry. Owned by the seed's thread.
 */
final class KvRuntimeSimStateMachine implements RuntimeSimStateMachine {
    /** What the simulation learns from each applied entry and each group that goes. */
    interface Observer {
        /** {@code node} applied {@code entry} of {@code groupId}. */
        void applied(long node, long groupId, Entry entry);

        /** {@code node}'s state of {@code groupId} was replaced (a snapshot installed) or dropped. */
        void replaced(long node, long groupId);

        /** {@code node} installed a snapshot of {@code groupId} taken at {@code index}. */
        void installed(long node, long groupId, long index);
    }

    private final long node;
    private final KvRuntimeSimStore store;
    private final KvStateMachine kv;
    private final Observer observer;
    /** The range of each group, to bootstrap a replica added later. */
    private final LongFunction<RangeDescriptor> ranges;
    private boolean failNextApply;

    KvRuntimeSimStateMachine(long node, KvRuntimeSimStore store, KvStateMachine kv, Observer observer,
            LongFunction<RangeDescriptor> ranges) {
        this.node = node;
        this.store = store;
        this.kv = kv;
        this.observer = observer;
        this.ranges = ranges;
    }

    KvStateMachine kv() {
        return kv;
    }

    KvRuntimeSimStore store() {
        return store;
    }

    @Override
    public void apply(ApplyBatch batch) {
        if (failNextApply) {
            failNextApply = false;
            throw new RuntimeSimRegisters.FailpointException(node);
        }
        for (int i = 0; i < batch.size(); i++) {
            long groupId = batch.groupId(i);
            RangeDescriptor initial = ranges.apply(groupId);
            if (kv.descriptor(groupId) == null && batch.entries(i).get(0).index() == 1 && initial != null) {
                // A replica added to the group: it starts empty, from the log's first entry. (Not a
                // range split off: its log does not start with its state, so apply fails loudly.)
                kv.bootstrap(List.of(initial));
            }
        }
        kv.apply(batch);
        for (int i = 0; i < batch.size(); i++) {
            for (Entry e : batch.entries(i)) {
                observer.applied(node, batch.groupId(i), e);
            }
        }
    }

    @Override
    public long appliedIndex(long groupId) {
        return kv.appliedIndex(groupId);
    }

    @Override
    public long durableIndex(long groupId) {
        return kv.durableIndex(groupId);
    }

    @Override
    public void requestDurable(long groupId) {
        kv.requestDurable(groupId);
    }

    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        return kv.snapshot(groupId);
    }

    @Override
    public void destroy(long groupId) {
        kv.destroy(groupId);
        observer.replaced(node, groupId);
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        kv.restore(groupId, snapshot, image);
        observer.replaced(node, groupId);
        observer.installed(node, groupId, snapshot.index());
    }

    @Override
    public void flush() {
        store.flushAll();
    }

    @Override
    public void failNextApply(boolean fail) {
        failNextApply = fail;
    }

    /** The {@link io.flotilla.engine.proto.WriteResult} of the write applied at {@code index}: the proposer's answer. */
    @Override
    public Object appliedOutcome(long groupId, long index) {
        return kv.takeResult(groupId, index);
    }
}
