package io.flotilla.check;

import io.flotilla.raft.Check;

/**
 * The outcome of {@link LinearizabilityChecker#check}: the verdict, the key it is about and a
 * report for a person. An immutable value, safe to share between threads.
 *
 * @param verdict what the checker decided
 * @param key the key whose sub-history is {@link Verdict#ILLEGAL} or {@link Verdict#UNKNOWN};
 *     {@code null} when the verdict is {@link Verdict#OK}
 * @param detail for a failure, the key's sub-history and how far the search got; empty for OK
 */
public record CheckResult(Verdict verdict, String key, String detail) {
    public CheckResult {
        Check.argument(verdict != null, "check result for key %s has no verdict", key);
        Check.argument(detail != null, "check result %s for key %s has no detail", verdict, key);
    }

    /** True when the whole history is linearizable; UNKNOWN is not OK. */
    public boolean ok() {
        return verdict == Verdict.OK;
    }
}
