package io.flotilla.raft;

/**
 * One log entry. Immutable by contract: the payload array is never written after the entry is made.
 */
public record Entry(long term, long index, EntryType type, byte[] data) {
    private static final byte[] EMPTY = new byte[0];

    public Entry {
        data = data == null ? EMPTY : data;
    }

    /** A normal entry. */
    public static Entry normal(long term, long index, byte[] data) {
        return new Entry(term, index, EntryType.NORMAL, data);
    }

    /** Bytes this entry counts for in size limits (the payload plus a fixed header estimate). */
    public long sizeBytes() {
        return data.length + 24;
    }

    @Override
    public String toString() {
        String payload = type == EntryType.CONF_CHANGE ? ConfChange.decode(data).toString() : Printable.bytes(data);
        return term + "/" + index + (type == EntryType.CONF_CHANGE ? " " : ":") + payload;
    }
}
