package io.flotilla.raft;

/** What an entry's payload is. Codes are the wire values in {@code raft.proto}. */
public enum EntryType {
    /** An opaque command for the state machine (or empty: a new leader's no-op). */
    NORMAL(0),
    /** A membership change, encoded by {@link ConfChange#encode()}; the core applies it itself. */
    CONF_CHANGE(1);

    public final int code;

    EntryType(int code) {
        this.code = code;
    }

    /** Returns the type with this wire code, or null if there is none. */
    public static EntryType fromCode(int code) {
        return switch (code) {
            case 0 -> NORMAL;
            case 1 -> CONF_CHANGE;
            default -> null;
        };
    }
}
