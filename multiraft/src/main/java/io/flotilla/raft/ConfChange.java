package io.flotilla.raft;

import java.nio.ByteBuffer;

/**
 * A single-step membership change (Raft thesis §4.1, one server at a time). It travels as the
 * payload of a {@link EntryType#CONF_CHANGE} entry in a fixed 9-byte encoding (type code, node id)
 * and takes effect on every replica when the entry is applied.
 */
public record ConfChange(ConfChangeType type, long nodeId) {
    static final int ENCODED_BYTES = 9;

    public byte[] encode() {
        return ByteBuffer.allocate(ENCODED_BYTES).put((byte) type.code).putLong(nodeId).array();
    }

    /** Decodes a payload made by {@link #encode()}; throws {@link IllegalArgumentException} on anything else. */
    public static ConfChange decode(byte[] data) {
        Check.argument(data.length == ENCODED_BYTES, "conf change payload is %d bytes, want %d", data.length, ENCODED_BYTES);
        ConfChangeType type = ConfChangeType.fromCode(data[0]);
        Check.argument(type != null, "unknown conf change type %d", data[0]);
        long nodeId = ByteBuffer.wrap(data, 1, 8).getLong();
        Check.argument(nodeId > 0, "conf change names node %d", nodeId);
        return new ConfChange(type, nodeId);
    }

    @Override
    public String toString() {
        return type + "(" + nodeId + ")";
    }
}
