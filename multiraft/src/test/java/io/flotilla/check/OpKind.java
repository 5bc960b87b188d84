package io.flotilla.check;

/**
 * The kind of a client operation on one key's register, as recorded in a history for
 * {@link LinearizabilityChecker}. An immutable constant, safe on any thread.
 */
public enum OpKind {
    /** Returns the register's current value, {@code null} when the key is absent. */
    READ,
    /** Sets the register's value. */
    WRITE,
    /** Sets the register's value only if it equals the expected one, and says whether it did. */
    CAS
}
