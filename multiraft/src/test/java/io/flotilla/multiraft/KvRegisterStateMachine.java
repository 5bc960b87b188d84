package io.flotilla.multiraft;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A register-per-key state machine for cluster tests: WRITE key value and CAS key expected value
 * commands; results are kept by (group, index) so a proposer learns what its command did. Each
 * group's map is touched only by its owning worker; results are read by client threads after the
 * worker published them through a concurrent map.
 */
final class KvRegisterStateMachine implements StateMachine {
    static final byte WRITE = 1;
    static final byte CAS = 2;

    private final boolean durable;
    /** Snapshots restored from images streamed by a leader. */
    final AtomicInteger restores = new AtomicInteger();
    private final Map<Long, Map<String, String>> data = new ConcurrentHashMap<>();
    private final Map<Long, Long> applied = new ConcurrentHashMap<>();
    /** (group << 32 | index) → CAS outcome. */
    final Map<Long, Boolean> casResults = new ConcurrentHashMap<>();

    KvRegisterStateMachine() {
        this(false);
    }

    KvRegisterStateMachine(boolean durable) {
        this.durable = durable;
    }

    static byte[] write(String key, String value) {
        return encode(WRITE, key, "", value);
    }

    static byte[] cas(String key, String expected, String value) {
        return encode(CAS, key, expected == null ? "\0" : expected, value);
    }

    private static byte[] encode(byte op, String key, String expected, String value) {
        byte[] k = key.getBytes(StandardCharsets.UTF_8);
        byte[] e = expected.getBytes(StandardCharsets.UTF_8);
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(1 + 12 + k.length + e.length + v.length).put(op)
                .putInt(k.length).put(k).putInt(e.length).put(e).putInt(v.length).put(v).array();
    }

    /** Worker thread of the group (a read listener): the current value of a key. */
    String get(long groupId, String key) {
        return data.computeIfAbsent(groupId, g -> new HashMap<>()).get(key);
    }

    @Override
    public void apply(ApplyBatch batch) {
        for (int i = 0; i < batch.size(); i++) {
            long group = batch.groupId(i);
            Map<String, String> kv = data.computeIfAbsent(group, g -> new HashMap<>());
            for (Entry e : batch.entries(i)) {
                applied.put(group, e.index());
                if (e.type() != EntryType.NORMAL || e.data().length == 0) {
                    continue;
                }
                ByteBuffer b = ByteBuffer.wrap(e.data());
                byte op = b.get();
                String key = str(b);
                String expected = str(b);
                String value = str(b);
                if (op == WRITE) {
                    kv.put(key, value);
                } else {
                    String current = kv.get(key);
                    boolean swapped = expected.equals("\0") ? current == null : expected.equals(current);
                    if (swapped) {
                        kv.put(key, value);
                    }
                    casResults.put(group << 32 | e.index(), swapped);
                }
            }
        }
    }

    private static String str(ByteBuffer b) {
        byte[] bytes = new byte[b.getInt()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public long appliedIndex(long groupId) {
        return applied.getOrDefault(groupId, 0L);
    }

    @Override
    public void destroy(long groupId) {
        data.remove(groupId);
        applied.remove(groupId);
    }

    /** A durable register keeps its state across restarts of its node (the cluster reuses the object). */
    @Override
    public long durableIndex(long groupId) {
        return durable ? appliedIndex(groupId) : 0;
    }

    /** Image: applied index, then the registers as (key, value) pairs. */
    @Override
    public SnapshotSource.Reader snapshot(long groupId) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            DataOutputStream out = new DataOutputStream(bytes);
            Map<String, String> kv = data.computeIfAbsent(groupId, g -> new HashMap<>());
            out.writeLong(appliedIndex(groupId));
            out.writeInt(kv.size());
            for (Map.Entry<String, String> e : kv.entrySet()) {
                out.writeUTF(e.getKey());
                out.writeUTF(e.getValue());
            }
            return SnapshotSource.ofBytes(bytes.toByteArray());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void restore(long groupId, SnapshotMetadata snapshot, Path image) throws IOException {
        try (DataInputStream in = new DataInputStream(Files.newInputStream(image))) {
            long index = in.readLong();
            if (index != snapshot.index()) {
                throw new IOException(image + " holds index " + index + ", not " + snapshot.index());
            }
            Map<String, String> kv = new HashMap<>();
            for (int n = in.readInt(); n > 0; n--) {
                kv.put(in.readUTF(), in.readUTF());
            }
            data.put(groupId, kv);
            applied.put(groupId, index);
            restores.incrementAndGet();
        }
    }
}
