package io.flotilla.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.EntryType;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The replicated key-value state machine of one replica: the keys, one session per client (its last
 * applied sequence number and that command's result, so a command committed twice takes effect
 * once) and a digest chained over every entry applied, which two replicas share at an index exactly
 * when they applied the same sequence. Owned by the single thread that runs the seed.
 */
final class SimKvStateMachine {
    /** What applying a client command produced; {@code swapped} is true for every plain write. */
    record Applied(int clientId, long seq, boolean swapped) {
    }

    private record Session(long seq, boolean result) {
    }

    private final TreeMap<String, String> values = new TreeMap<>();
    private final TreeMap<Integer, Session> sessions = new TreeMap<>();
    private long appliedIndex;
    private long digest;

    long appliedIndex() {
        return appliedIndex;
    }

    long digest() {
        return digest;
    }

    String get(String key) {
        return values.get(key);
    }

    /**
     * Applies one committed entry. Returns the outcome for the client that sent it (the original
     * outcome if the command was applied before), or null if the entry carries no command or a
     * command its client has already moved past.
     */
    Applied apply(Entry e) {
        if (e.index() != appliedIndex + 1) {
            throw new IllegalStateException("state machine at " + appliedIndex + " given entry " + e.index());
        }
        appliedIndex = e.index();
        digest = SimTrace.stir(digest ^ SimTrace.stir(e.index() * 31 + e.term()) ^ e.type().code ^ (long) Arrays.hashCode(e.data()) << 16);
        if (e.type() != EntryType.NORMAL) {
            return null;
        }
        SimCommand c = SimCommand.decode(e.data());
        if (c == null) {
            return null;
        }
        Session s = sessions.get(c.clientId());
        if (s != null && c.seq() <= s.seq()) {
            return c.seq() == s.seq() ? new Applied(c.clientId(), c.seq(), s.result()) : null;
        }
        boolean result = true;
        if (c.cas()) {
            result = Objects.equals(values.get(c.key()), c.expected());
        }
        if (result) {
            values.put(c.key(), c.value());
        }
        sessions.put(c.clientId(), new Session(c.seq(), result));
        return new Applied(c.clientId(), c.seq(), result);
    }

    /** The outcome of {@code (clientId, seq)} if it is the client's last applied command, else null. */
    Applied sessionResult(int clientId, long seq) {
        Session s = sessions.get(clientId);
        return s != null && s.seq() == seq ? new Applied(clientId, seq, s.result()) : null;
    }

    /** The last sequence number applied for {@code clientId}, or 0. */
    long lastSeq(int clientId) {
        Session s = sessions.get(clientId);
        return s == null ? 0 : s.seq();
    }

    byte[] serialize() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeLong(appliedIndex);
            out.writeLong(digest);
            out.writeInt(values.size());
            for (Map.Entry<String, String> kv : values.entrySet()) {
                out.writeUTF(kv.getKey());
                out.writeUTF(kv.getValue());
            }
            out.writeInt(sessions.size());
            for (Map.Entry<Integer, Session> s : sessions.entrySet()) {
                out.writeInt(s.getKey());
                out.writeLong(s.getValue().seq());
                out.writeBoolean(s.getValue().result());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /**
     * The state machine a snapshot at {@code snapshotIndex} holds. Empty data is the empty state: a new
     * group's bootstrap snapshot, or no snapshot at all.
     */
    static SimKvStateMachine restore(byte[] data, long snapshotIndex) {
        SimKvStateMachine sm = new SimKvStateMachine();
        if (data.length == 0) {
            sm.appliedIndex = snapshotIndex;
            return sm;
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            sm.appliedIndex = in.readLong();
            sm.digest = in.readLong();
            int keys = in.readInt();
            for (int i = 0; i < keys; i++) {
                sm.values.put(in.readUTF(), in.readUTF());
            }
            int clients = in.readInt();
            for (int i = 0; i < clients; i++) {
                sm.sessions.put(in.readInt(), new Session(in.readLong(), in.readBoolean()));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return sm;
    }
}
