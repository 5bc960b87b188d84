package io.flotilla.check;

/**
 * A stretch of time [start, end] of one key's sub-history, checked on its own with everything
 * outside it relaxed, to prove a history illegal locally. Used once, by the thread that created
 * it.
 *
 * <p>Why a window that fails proves the whole history illegal: if the history is linearizable,
 * its linearization can be given points in time, each operation's inside its interval and in
 * order (point i = the latest call among the first i operations). The operations whose points
 * fall in [start, end] are then a contiguous stretch of the order, starting from whatever value
 * the register held. That stretch contains every known operation that both starts and ends in
 * the window, may contain any operation that overlaps an edge (as may a crashed client's, from
 * its call on), and respects real time among them. So the window's problem relaxes the whole
 * one: every known operation inside is mandatory; every WRITE, swapped CAS and unknown
 * operation that overlaps the window is optional, available from max(call, start) and with no
 * deadline (a further relaxation); READs and failed CASes that overlap an edge are left out,
 * since leaving them out only removes constraints; and every starting value is tried. If no
 * starting value works, no linearization of the whole history exists.
 */
final class RelaxedWindow {
    /** Steps one window may spend over all its starting values, in the first round of windows. */
    static final long FIRST_STEPS_PER_WINDOW = 50_000;
    private static final int MEMO_ENTRIES = 500_000;

    private final long start;
    private final long end;
    private final boolean[] mandatory;
    private final RegisterProblem problem;
    private long steps;

    RelaxedWindow(String key, Operation[] ops, long start, long end) {
        this.start = start;
        this.end = end;
        this.mandatory = new boolean[ops.length];
        int mandatoryCount = 0;
        int optionalCount = 0;
        boolean[] optional = new boolean[ops.length];
        for (int id = 0; id < ops.length; id++) {
            Operation op = ops[id];
            if (op.known() && op.callTime() >= start && op.returnTime() <= end) {
                mandatory[id] = true;
                mandatoryCount++;
            } else if (op.callTime() <= end && op.effectiveReturnTime() >= start && changesValue(op)) {
                optional[id] = true;
                optionalCount++;
            }
        }
        int[] mandatoryIds = new int[mandatoryCount];
        int[] optionalIds = new int[optionalCount];
        int m = 0;
        int o = 0;
        for (int id = 0; id < ops.length; id++) {
            if (mandatory[id]) {
                mandatoryIds[m++] = id;
            } else if (optional[id]) {
                optionalIds[o++] = id;
            }
        }
        this.problem = new RegisterProblem(key, ops, mandatoryIds, optionalIds, start);
    }

    /** A WRITE, a CAS that swapped, or one whose outcome is unknown. */
    private static boolean changesValue(Operation op) {
        return op.kind() == OpKind.WRITE || (op.kind() == OpKind.CAS && (!op.known() || op.result()));
    }

    /** What {@link #refute} found. */
    enum Outcome {
        /** No starting value explains the window: the whole history is illegal. */
        REFUTED,
        /** Some starting value explains it: this window proves nothing. */
        EXPLAINED,
        /** The step budget ran out first. */
        UNDECIDED
    }

    /** Whether any starting value lets the window's mandatory operations be linearized, within {@code stepBudget}. */
    Outcome refute(long stepBudget) {
        if (problem.knownCount == 0) {
            return Outcome.EXPLAINED;
        }
        StateMemo memo = new StateMemo(MEMO_ENTRIES);
        for (int initial = 0; initial < problem.valueCount; initial++) {
            RegisterSearch search = new RegisterSearch(problem, initial, memo);
            RegisterSearch.Status status = search.advance(stepBudget - steps);
            steps += search.steps();
            if (status == RegisterSearch.Status.FOUND) {
                return Outcome.EXPLAINED;
            }
            if (status != RegisterSearch.Status.EXHAUSTED) {
                return Outcome.UNDECIDED;
            }
        }
        return Outcome.REFUTED;
    }

    long steps() {
        return steps;
    }

    long start() {
        return start;
    }

    long end() {
        return end;
    }

    int mandatoryCount() {
        return problem.knownCount;
    }

    int optionalCount() {
        int n = 0;
        for (int[] ops : problem.shapeOps) {
            n += ops.length;
        }
        return n;
    }

    boolean isMandatory(int id) {
        return mandatory[id];
    }
}
