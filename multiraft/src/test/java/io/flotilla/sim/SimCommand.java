package io.flotilla.sim;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * A client write as it travels in a log entry: who sent it ({@code clientId}, {@code seq} — the key
 * the state machine deduplicates by) and what it does. Immutable.
 *
 * @param cas false: set {@code key} to {@code value}; true: set it only if it equals {@code expected}
 * @param expected null means "key absent"
 */
record SimCommand(int clientId, long seq, boolean cas, String key, String expected, String value) {
    /** First payload byte of every command; lets the state machine tell commands from other payloads. */
    private static final byte MAGIC = 0x53;

    byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(48);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeByte(MAGIC);
            out.writeInt(clientId);
            out.writeLong(seq);
            out.writeBoolean(cas);
            out.writeUTF(key);
            out.writeBoolean(expected != null);
            if (expected != null) {
                out.writeUTF(expected);
            }
            out.writeUTF(value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** The command in {@code data}, or null if {@code data} is not a command (a leader's empty entry). */
    static SimCommand decode(byte[] data) {
        if (data.length == 0) {
            return null;
        }
        if (data[0] != MAGIC) {
            throw new IllegalArgumentException("payload of " + data.length + " bytes is not a simulation command");
        }
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(data))) {
            in.readByte();
            int clientId = in.readInt();
            long seq = in.readLong();
            boolean cas = in.readBoolean();
            String key = in.readUTF();
            String expected = in.readBoolean() ? in.readUTF() : null;
            String value = in.readUTF();
            return new SimCommand(clientId, seq, cas, key, expected, value);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
