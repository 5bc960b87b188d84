package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The runtime simulation's state machine for one node incarnation: a register per key per group,
 * written by WRITE and CAS commands that each carry the unique id of the proposal attempt that
 * made them, so the simulation can tell which proposal applied where ({@link Observer}). A
 * failpoint makes the next {@link #apply} throw, which fails the worker that called it. Kept in
 * memory only: a crashed node restarts with a new, empty one and replays its log. Touched only by
 * the seed's thread (the simulation runs every worker on it).
 */
final class RuntimeSimRegisters implements StateMachine {
    static final byte WRITE = 1;
    static final byte CAS = 2;

    /** What the simulation learns from each applied entry. */
    interface Observer {
        /** {@code node} applied {@code entry} of {@code groupId}; {@code attemptId} is 0 for no-ops and conf changes. */
        void applied(long node, long groupId, Entry entry, long attemptId);

        /** Entries of a group were not consecutive: the runtime broke {@link StateMachine#apply}'s contract. */
        void gap(long node, long groupId, long expectedIndex, long gotIndex);
    }

    /** Thrown by {@link #apply} when the failpoint fires: the worker that applies fails. */
    static final class FailpointException extends RuntimeException {
        FailpointException(long node) {
            super("failpoint: the state machine of node " + node + " throws in apply");
        }
    }

    /** A decoded command. {@code expected} is null for WRITE and for a CAS that expects the key absent. */
    record Command(byte kind, long attemptId, String key, String expected, String value) {
    }

    private final long node;
    private final Observer observer;
    private final Map<Long, Map<String, String>> registers = new HashMap<>();
    private final Map<Long, Long> applied = new HashMap<>();
    /** (group, index) → whether the CAS at that index swapped, for the proposer to read on onApplied. */
    private final Map<Long, Map<Long, Boolean>> casOutcomes = new HashMap<>();
    private boolean failNextApply;

    RuntimeSimRegisters(long node, Observer observer) {
        this.node = node;
        this.observer = observer;
    }

    static byte[] encode(byte kind, long attemptId, String key, String expected, String value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] e = expected == null ? null : expected.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + k.length + 4 + (e == null ? 0 : e.length) + 4 + v.length);
        b.put(kind).putLong(attemptId).putInt(k.length).put(k).putInt(e == null ? -1 : e.length);
        if (e != null) {
            b.put(e);
        }
        return b.putInt(v.length).put(v).array();
    }

    static Command decode(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        byte kind = b.get();
        long attemptId = b.getLong();
        String key = string(b, b.getInt());
        int expectedLength = b.getInt();
        String expected = expectedLength < 0 ? null : string(b, expectedLength);
        String value = string(b, b.getInt());
        return new Command(kind, attemptId, key, expected, value);
    }

    private static String string(ByteBuffer b, int length) {
        byte[] bytes = new byte[length];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    void failNextApply(boolean fail) {
        failNextApply = fail;
    }

    /** The value a linearizable read of {@code key} serves here (null: absent). */
    String get(long groupId, String key) {
        Map<String, String> kv = registers.get(groupId);
        return kv == null ? null : kv.get(key);
    }

    /** Whether the CAS applied at {@code index} swapped; null if this node did not apply one there. */
    Boolean casOutcome(long groupId, long index) {
        Map<Long, Boolean> outcomes = casOutcomes.get(groupId);
        return outcomes == null ? null : outcomes.get(index);
    }

    @Override
    public void apply(ApplyBatch batch) {
        if (failNextApply) {
            failNextApply = false;
            throw new FailpointException(node);
        }
        for (int i = 0; i < batch.size(); i++) {
            long group = batch.groupId(i);
            Map<String, String> kv = registers.computeIfAbsent(group, g -> new HashMap<>());
            for (Entry e : batch.entries(i)) {
                long expected = applied.getOrDefault(group, 0L) + 1;
                if (e.index() != expected) {
                    observer.gap(node, group, expected, e.index());
                }
                applied.put(group, e.index());
                long attemptId = 0;
                if (e.type() == EntryType.NORMAL && e.data().length > 0) {
                    Command c = decode(e.data());
                    attemptId = c.attemptId();
                    if (c.kind() == WRITE) {
                        kv.put(c.key(), c.value());
                    } else {
                        String current = kv.get(c.key());
                        boolean swapped = c.expected() == null ? current == null : c.expected().equals(current);
                        if (swapped) {
                            kv.put(c.key(), c.value());
                        }
                        casOutcomes.computeIfAbsent(group, g -> new HashMap<>()).put(e.index(), swapped);
                    }
                }
                observer.applied(node, group, e, attemptId);
            }
        }
    }

    @Override
    public long appliedIndex(long groupId) {
        return applied.getOrDefault(groupId, 0L);
    }

    /** Nothing survives a crash; without a snapshot channel the runtime never compacts, so this is never consulted for that. */
    @Override
    public long durableIndex(long groupId) {
        return 0;
    }

    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        throw new UnsupportedOperationException("the runtime simulation runs without snapshots");
    }

    @Override
    public void destroy(long groupId) {
        registers.remove(groupId);
        applied.remove(groupId);
        casOutcomes.remove(groupId);
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) {
        throw new UnsupportedOperationException("the runtime simulation runs without snapshots");
    }
}
