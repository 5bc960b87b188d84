package io.flotilla.check;

/**
 * What {@link LinearizabilityChecker} decided about a history. An immutable constant, safe on
 * any thread.
 */
public enum Verdict {
    /** Every key's sub-history has a linearization. */
    OK,
    /** Some key's sub-history has none: the system under test broke linearizability. */
    ILLEGAL,
    /**
     * The search spent its step budget before it could decide. Callers treat this as a failure:
     * a checker that gives up must not let a bug pass.
     */
    UNKNOWN
}
