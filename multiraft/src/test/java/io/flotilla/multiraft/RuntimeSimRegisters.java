package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The runtime simulation's state machine for one node incarnation: a register per key per group,
 * written by WRITE and CAS commands that each carry the unique id of the proposal attempt that
 * made them, so the simulation can tell which proposal applied where ({@link Observer}). A
 * failpoint makes the next {@link #apply} throw, which fails the worker that called it.
 *
 * <p>Two kinds. Without snapshots (no {@code images}) it keeps nothing durable: a crashed node
 * restarts with a new, empty one and replays its log, and {@link #durableIndex} is 0. With
 * snapshots it behaves like RocksDB with its WAL off: {@link #flush} (which the simulation calls
 * at seeded times) makes a copy of every group's registers and applied index durable, a crashed
 * node restarts from that copy ({@link #recover}), {@link #snapshot} captures an image of a group
 * at its applied index and {@link #restore} loads one, received by the node's
 * {@link RuntimeSimSnapshots}. Touched only by the seed's thread (the simulation runs every worker on it).
 */
final class RuntimeSimRegisters implements RuntimeSimStateMachine {
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

    /** A group's registers and the index they reflect, as made durable by a flush. */
    private record Durable(Map<String, String> registers, long appliedIndex) {
    }

    private final long node;
    private final Observer observer;
    /** Null: the kind without snapshots, which keeps nothing durable. */
    private final RuntimeSimSnapshots images;
    private final Map<Long, Durable> durable = new HashMap<>();
    private final Map<Long, Map<String, String>> registers = new HashMap<>();
    private final Map<Long, Long> applied = new HashMap<>();
    /** (group, index) → whether the CAS at that index swapped, for the proposer to read on onApplied. */
    private final Map<Long, Map<Long, Boolean>> casOutcomes = new HashMap<>();
    private boolean failNextApply;

    RuntimeSimRegisters(long node, Observer observer) {
        this(node, observer, null);
    }

    /** Empty; with {@code images} (not null) it makes state durable and takes snapshots. */
    RuntimeSimRegisters(long node, Observer observer, RuntimeSimSnapshots images) {
        this.node = node;
        this.observer = observer;
        this.images = images;
    }

    /** What a restart after a crash finds: {@code crashed}'s durable copy, or nothing if it keeps none. */
    static RuntimeSimRegisters recover(long node, Observer observer, RuntimeSimSnapshots images, RuntimeSimRegisters crashed) {
        RuntimeSimRegisters r = new RuntimeSimRegisters(node, observer, images);
        if (images != null && crashed != null) {
            for (Map.Entry<Long, Durable> e : crashed.durable.entrySet()) {
                r.durable.put(e.getKey(), e.getValue());
                r.registers.put(e.getKey(), new HashMap<>(e.getValue().registers()));
                r.applied.put(e.getKey(), e.getValue().appliedIndex());
            }
        }
        return r;
    }

    /** Makes every group's current state durable (a memtable flush). Nothing without snapshots. */
    @Override
    public void flush() {
        if (images == null) {
            return;
        }
        for (Map.Entry<Long, Long> e : applied.entrySet()) {
            Map<String, String> kv = registers.get(e.getKey());
            durable.put(e.getKey(), new Durable(kv == null ? Map.of() : Map.copyOf(kv), e.getValue()));
        }
    }

    static byte[] encode(byte kind, long attemptId, String key, String expected, String value) {
        return encode(kind, attemptId, key, expected, value, 0);
    }

    /** As above, followed by {@code padBytes} zeros that {@link #decode} ignores (to make the log grow faster). */
    static byte[] encode(byte kind, long attemptId, String key, String expected, String value, int padBytes) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] e = expected == null ? null : expected.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(1 + 8 + 4 + k.length + 4 + (e == null ? 0 : e.length) + 4 + v.length + padBytes);
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

    @Override
    public void failNextApply(boolean fail) {
        failNextApply = fail;
    }

    /** The value a linearizable read of {@code key} serves here (null: absent). */
    String get(long groupId, String key) {
        Map<String, String> kv = registers.get(groupId);
        return kv == null ? null : kv.get(key);
    }

    /** What a proposer learns on onApplied: {@link #casOutcome}. */
    @Override
    public Object appliedOutcome(long groupId, long index) {
        return casOutcome(groupId, index);
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

    /** The applied index of the last flush (0 without snapshots: nothing survives a crash). */
    @Override
    public long durableIndex(long groupId) {
        Durable d = durable.get(groupId);
        return d == null ? 0 : d.appliedIndex();
    }

    /** Image: applied index, register count, then each key and value (sorted, so equal states give equal images). */
    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        if (images == null) {
            throw new UnsupportedOperationException("this runtime simulation seed runs without snapshots");
        }
        Map<String, String> kv = new TreeMap<>(registers.getOrDefault(groupId, Map.of()));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(bytes);
        try {
            out.writeLong(appliedIndex(groupId));
            out.writeInt(kv.size());
            for (Map.Entry<String, String> e : kv.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeUTF(e.getValue());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return SnapshotSource.ofBytes(bytes.toByteArray());
    }

    @Override
    public void destroy(long groupId) {
        registers.remove(groupId);
        applied.remove(groupId);
        casOutcomes.remove(groupId);
        durable.remove(groupId);
    }

    /** Loads an image; it becomes durable only at the next flush. The image must be of the snapshot's index. */
    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        if (images == null) {
            throw new UnsupportedOperationException("this runtime simulation seed runs without snapshots");
        }
        DataInputStream in = new DataInputStream(new ByteArrayInputStream(images.image(image)));
        long index = in.readLong();
        if (index != snapshot.index()) {
            throw new IllegalStateException("node " + node + " group " + groupId + ": the image " + image + " holds state at "
                    + index + ", not at the snapshot's index " + snapshot.index());
        }
        Map<String, String> kv = new HashMap<>();
        for (int n = in.readInt(); n > 0; n--) {
            kv.put(in.readUTF(), in.readUTF());
        }
        registers.put(groupId, kv);
        applied.put(groupId, index);
        casOutcomes.remove(groupId);
    }
}
