package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Decides whether a history of client operations on key-value registers is linearizable. Each
 * key is an independent register whose initial value is absent ({@code null}); the history is
 * linearizable iff every key's sub-history is (linearizability is local, Herlihy &amp; Wing 1990,
 * so checking keys apart is exact, and it keeps each search small).
 *
 * <p>Per key it runs Wing &amp; Gong's depth-first search with Lowe's memoization, as Porcupine
 * does, reduced so that its cost follows the choices the history leaves open (see
 * {@link RegisterSearch}); an OK verdict is replayed against the definition ({@link Witness}),
 * and a search that stops getting deeper looks for a short stretch of the history that is
 * illegal on its own ({@link RelaxedWindow}); see {@link KeyCheck}. Stateless: {@link #check}
 * may be called from any thread, and each call is confined to the thread that makes it.
 */
public final class LinearizabilityChecker {
    /** Search steps allowed per key before the verdict is {@link Verdict#UNKNOWN}. */
    public static final long DEFAULT_MAX_STEPS = 5_000_000;

    private LinearizabilityChecker() {
    }

    /** Checks {@code history} with {@link #DEFAULT_MAX_STEPS} per key. */
    public static CheckResult check(List<Operation> history) {
        return check(history, DEFAULT_MAX_STEPS);
    }

    /**
     * Checks {@code history}, in any order, with at most {@code maxSteps} search steps per key.
     * The step count, not wall-clock time, bounds the search so that a seed replays to the same
     * verdict on any machine.
     *
     * <p>Keys are checked in their natural order. An ILLEGAL key is reported in preference to one
     * whose search ran out of steps, because it is a definite finding; among several ILLEGAL keys
     * the first in order is reported.
     */
    public static CheckResult check(List<Operation> history, long maxSteps) {
        return check(history, maxSteps, new SearchStats());
    }

    /** As {@link #check(List, long)}, adding what the checks cost to {@code stats}. */
    static CheckResult check(List<Operation> history, long maxSteps, SearchStats stats) {
        Check.argument(history != null, "history is null");
        Check.argument(maxSteps > 0, "maxSteps %d must be positive", maxSteps);
        Map<String, List<Operation>> byKey = new TreeMap<>();
        for (int i = 0; i < history.size(); i++) {
            Operation op = history.get(i);
            Check.argument(op != null, "operation %d of %d in the history is null", i, history.size());
            if (op.kind() == OpKind.READ && !op.known()) {
                // The client never saw the value, so the read constrains nothing.
                continue;
            }
            byKey.computeIfAbsent(op.key(), k -> new ArrayList<>()).add(op);
        }
        CheckResult undecided = null;
        for (Map.Entry<String, List<Operation>> e : byKey.entrySet()) {
            CheckResult result = new KeyCheck(e.getKey(), e.getValue(), maxSteps, stats).run();
            if (result.verdict() == Verdict.ILLEGAL) {
                return result;
            }
            if (result.verdict() == Verdict.UNKNOWN && undecided == null) {
                undecided = result;
            }
        }
        return undecided != null ? undecided : new CheckResult(Verdict.OK, null, "");
    }
}
