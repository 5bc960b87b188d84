package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * Decides one key's sub-history and writes the report. Used once, by the thread that created it.
 *
 * <p>Three ways to a verdict, each sound on its own:
 * <ol>
 *   <li>A READ of a value no operation ever wrote (or a CAS that swapped from one) is ILLEGAL at
 *       once.
 *   <li>The {@link RegisterSearch} over the whole sub-history: a linearization it finds is
 *       replayed by {@link Witness} before the verdict is OK; if it explores every state the
 *       verdict is ILLEGAL.
 *   <li>When that search stops getting deeper, {@link RelaxedWindow}s around where it is stuck:
 *       a stretch of time that no register value at its start can explain, even with every
 *       operation crossing its edges free to take effect in it or not, proves the whole history
 *       ILLEGAL without exploring everything before it.
 * </ol>
 * The step budget covers the search and the windows together.
 */
final class KeyCheck {
    /** Sub-histories longer than this are printed only around where the search got stuck. */
    private static final int FULL_LISTING = 400;
    private static final int LISTING_AROUND = 60;
    private static final int PREFIX_TAIL = 60;
    private static final int STUCK_LINES = 40;
    /** Steps without a deeper state before the first look for a refuting window; then times 4. */
    static final long FIRST_STALL_STEPS = 20_000;
    /** Memo entries kept before it is cleared (about 150 bytes each). */
    static final int MEMO_ENTRIES = 3_000_000;

    private final String key;
    /** The sub-history sorted by call time; an operation's index here is its id in reports. */
    private final Operation[] ops;
    private final long maxSteps;
    private final long firstStallSteps;
    private final SearchStats stats;
    /** The search over the whole sub-history; null until it starts. */
    private RegisterSearch search;
    private long windowSteps;
    private int windowsTried;

    KeyCheck(String key, List<Operation> subHistory, long maxSteps, SearchStats stats) {
        this(key, subHistory, maxSteps, FIRST_STALL_STEPS, stats);
    }

    /** With the steps without progress before the first windows set: tests force windows with 1. */
    KeyCheck(String key, List<Operation> subHistory, long maxSteps, long firstStallSteps, SearchStats stats) {
        this.key = key;
        this.ops = subHistory.toArray(new Operation[0]);
        // Stable sort: equal calls keep the caller's order, so reports are reproducible.
        Arrays.sort(ops, Comparator.comparingLong(Operation::callTime)
                .thenComparingLong(Operation::effectiveReturnTime)
                .thenComparingInt(Operation::clientId));
        for (Operation op : ops) {
            Check.argument(op.key().equals(key), "operation %s in the sub-history of key %s", op, key);
            Check.argument(op.known() || op.kind() != OpKind.READ,
                    "unknown READ %s reached the search; it carries no information", op);
        }
        this.maxSteps = maxSteps;
        this.firstStallSteps = firstStallSteps;
        this.stats = stats;
    }

    CheckResult run() {
        CheckResult result = decide();
        if (search != null) {
            stats.add(search.steps() + windowSteps, search.memoEntries(), windowsTried, windowSteps);
        }
        return result;
    }

    private CheckResult decide() {
        int never = readOfNeverWritten();
        if (never >= 0) {
            return neverWritten(never);
        }
        RegisterProblem pb = RegisterProblem.whole(key, ops);
        search = new RegisterSearch(pb, pb.absent, new StateMemo(MEMO_ENTRIES));
        long stall = firstStallSteps;
        long windowBudget = RelaxedWindow.FIRST_STEPS_PER_WINDOW;
        search.stallSteps(stall);
        Set<List<Long>> triedWindows = new HashSet<>();
        while (true) {
            RegisterSearch.Status status = search.advance(maxSteps - windowSteps);
            switch (status) {
                case FOUND -> {
                    int[] order = search.order();
                    String wrong = Witness.violation(ops, order);
                    Check.state(wrong == null, "checker bug: the linearization found for key %s is not one: %s",
                            key, wrong);
                    return new CheckResult(Verdict.OK, null, "");
                }
                case EXHAUSTED -> {
                    return illegal(search, null);
                }
                case OUT_OF_STEPS -> {
                    return budgetExhausted(search);
                }
                case STALLED -> {
                    RelaxedWindow refuting = localize(pb, search, triedWindows, windowBudget);
                    if (refuting != null) {
                        return illegal(search, refuting);
                    }
                    // Each round waits four times longer and lets each window look four times
                    // deeper, so the windows' cost stays in proportion to the search's.
                    stall = stall > Long.MAX_VALUE / 4 ? Long.MAX_VALUE : stall * 4;
                    windowBudget = windowBudget > Long.MAX_VALUE / 4 ? Long.MAX_VALUE : windowBudget * 4;
                    triedWindows.clear();
                    search.stallSteps(stall);
                }
            }
        }
    }

    /**
     * Tries windows ending where the search is stuck and starting further and further back; the
     * first that no starting value explains is returned. Each window gets {@code windowBudget}
     * steps at most; one that runs out proves nothing.
     */
    private RelaxedWindow localize(RegisterProblem pb, RegisterSearch search, Set<List<Long>> tried,
                                   long windowBudget) {
        int p = search.bestFirstUnlinearized();
        // The first READ (or swapped CAS) left without a producer is where the deepest dead
        // end was; the frontier of the deepest prefix is the other place to look.
        int orphan = firstOrphanedReader(pb, search);
        int[] anchors = orphan >= 0 ? new int[] {orphan, p, p} : new int[] {p, p};
        long[] ends = orphan >= 0
                ? new long[] {pb.ret[orphan], search.bestFirstReturn(), search.bestLastCandidateReturn()}
                : new long[] {search.bestFirstReturn(), search.bestLastCandidateReturn()};
        // A window that ran out of steps stops its anchor for this round: wider ones cost more.
        boolean[] givenUp = new boolean[anchors.length];
        for (int back : new int[] {0, 2, 8, 32, 128, 512, 2048}) {
            for (int a = 0; a < anchors.length; a++) {
                long start = pb.call[Math.max(0, anchors[a] - back)];
                long end = ends[a];
                if (givenUp[a] || start > end || !tried.add(List.of(start, end))) {
                    continue;
                }
                long left = maxSteps - search.steps() - windowSteps;
                if (left <= 0) {
                    return null;
                }
                RelaxedWindow window = new RelaxedWindow(key, ops, start, end);
                windowsTried++;
                RelaxedWindow.Outcome outcome = window.refute(Math.min(left, windowBudget));
                windowSteps += window.steps();
                if (outcome == RelaxedWindow.Outcome.REFUTED) {
                    return window;
                }
                givenUp[a] = outcome == RelaxedWindow.Outcome.UNDECIDED;
            }
        }
        return null;
    }

    /** The first mandatory index, not in the deepest prefix, that reads the orphaned value; or -1. */
    private static int firstOrphanedReader(RegisterProblem pb, RegisterSearch search) {
        int v = search.bestOrphanValue();
        if (v < 0) {
            return -1;
        }
        Set<Integer> done = new HashSet<>();
        for (int id : search.bestOrder()) {
            done.add(id);
        }
        for (int k = 0; k < pb.knownCount; k++) {
            boolean reads = pb.kind[k] == RegisterProblem.READ ? pb.value[k] == v
                    : pb.kind[k] == RegisterProblem.CAS && pb.result[k] && pb.expected[k] == v;
            if (reads && !done.contains(pb.knownId[k])) {
                return k;
            }
        }
        return -1;
    }

    /** A known READ of, or a swapped CAS from, a value nothing writes and the register never started with. */
    private int readOfNeverWritten() {
        Set<String> written = new HashSet<>();
        written.add(null);
        for (Operation op : ops) {
            if (op.kind() == OpKind.WRITE || (op.kind() == OpKind.CAS && (!op.known() || op.result()))) {
                written.add(op.value());
            }
        }
        for (int id = 0; id < ops.length; id++) {
            Operation op = ops[id];
            if ((op.kind() == OpKind.READ && !written.contains(op.value()))
                    || (op.kind() == OpKind.CAS && op.known() && op.result() && !written.contains(op.expected()))) {
                return id;
            }
        }
        return -1;
    }

    // ---- reports ----

    private CheckResult neverWritten(int id) {
        Operation op = ops[id];
        String what = op.kind() == OpKind.READ ? "returned " + show(op.value()) : "swapped from " + show(op.expected());
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("key %s is not linearizable: operation #%d %s, a value no operation on"
                + " the key ever wrote (and not the initial absent value).%n", quote(key), id, what));
        sb.append(String.format("  %s%n", describe(id)));
        appendSubHistory(sb, id, id);
        return new CheckResult(Verdict.ILLEGAL, key, sb.toString());
    }

    private CheckResult illegal(RegisterSearch search, RelaxedWindow window) {
        StringBuilder sb = new StringBuilder();
        int[] best = search.bestOrder();
        int focus = firstNotIn(best);
        if (window == null) {
            sb.append(String.format("key %s is not linearizable: no order of its %d operations respects"
                    + " both real time and the register's answers.%n", quote(key), ops.length));
        } else {
            sb.append(String.format("key %s is not linearizable: the %d operations that start and end"
                    + " between time %d and %d cannot be ordered to respect both real time and the"
                    + " register's answers, whatever the register held at %d, even with each of the %d"
                    + " writes and CASes overlapping that stretch free to take effect in it or not"
                    + " (search: %d steps, %d windows tried).%n", quote(key), window.mandatoryCount(),
                    window.start(), window.end(), window.start(), window.optionalCount(),
                    search.steps() + windowSteps, windowsTried));
            sb.append("Operations inside that stretch:").append(System.lineSeparator());
            int shown = 0;
            for (int id = 0; id < ops.length && shown < FULL_LISTING; id++) {
                if (window.isMandatory(id)) {
                    sb.append("  ").append(describe(id)).append(System.lineSeparator());
                    shown++;
                }
            }
        }
        appendSubHistory(sb, Math.max(0, focus - LISTING_AROUND), Math.min(ops.length - 1, focus + LISTING_AROUND));
        appendBestPrefix(sb, best);
        appendStuck(sb, best);
        return new CheckResult(Verdict.ILLEGAL, key, sb.toString());
    }

    private CheckResult budgetExhausted(RegisterSearch search) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("key %s: the search stopped after %d steps without a decision"
                + " (%d operations, %d windows tried, %d memo entries). Raise maxSteps, or check shorter"
                + " histories or fewer concurrent clients per key.%n", quote(key),
                search.steps() + windowSteps, ops.length, windowsTried, search.memoEntries()));
        int[] best = search.bestOrder();
        int focus = firstNotIn(best);
        appendSubHistory(sb, Math.max(0, focus - LISTING_AROUND), Math.min(ops.length - 1, focus + LISTING_AROUND));
        appendBestPrefix(sb, best);
        return new CheckResult(Verdict.UNKNOWN, key, sb.toString());
    }

    /** The whole sub-history when short, else ids {@code from..to} (where the trouble is). */
    private void appendSubHistory(StringBuilder sb, int from, int to) {
        if (ops.length <= FULL_LISTING) {
            from = 0;
            to = ops.length - 1;
            sb.append(String.format("Sub-history of key %s, sorted by call time:%n", quote(key)));
        } else {
            sb.append(String.format("Sub-history of key %s, sorted by call time: operations #%d..#%d of %d,"
                    + " around where the search got stuck:%n", quote(key), from, to, ops.length));
        }
        for (int id = from; id <= to; id++) {
            sb.append("  ").append(describe(id)).append(System.lineSeparator());
        }
    }

    private void appendBestPrefix(StringBuilder sb, int[] best) {
        sb.append(String.format("Longest linearizable prefix found (%d of %d operations):%n", best.length, ops.length));
        if (best.length == 0) {
            sb.append("  (none: no operation can take effect first)").append(System.lineSeparator());
        }
        int skip = Math.max(0, best.length - PREFIX_TAIL);
        if (skip > 0) {
            sb.append(String.format("  ... the first %d omitted%n", skip));
        }
        String state = null;
        for (int i = 0; i < best.length; i++) {
            state = after(state, ops[best[i]]);
            if (i >= skip) {
                sb.append(String.format("  %s  => register %s%n", describe(best[i]), show(state)));
            }
        }
    }

    /**
     * Lists what could go next after the longest prefix: the operations not in it that no other
     * remaining operation precedes in real time. Each one either contradicts the register there,
     * or the search tried it and every continuation failed.
     */
    private void appendStuck(StringBuilder sb, int[] best) {
        boolean[] done = new boolean[ops.length];
        String state = null;
        for (int id : best) {
            done[id] = true;
            state = after(state, ops[id]);
        }
        long firstReturn = Long.MAX_VALUE;
        for (int id = 0; id < ops.length; id++) {
            if (!done[id]) {
                firstReturn = Math.min(firstReturn, ops[id].effectiveReturnTime());
            }
        }
        sb.append(String.format("After that prefix the register holds %s, and none of the operations"
                + " that may go next leads to a full linearization:%n", show(state)));
        int shown = 0;
        int more = 0;
        for (int id = 0; id < ops.length; id++) {
            if (!done[id] && ops[id].callTime() <= firstReturn) {
                if (shown == STUCK_LINES) {
                    more++;
                    continue;
                }
                String why = allowed(state, ops[id])
                        ? "allowed here, but every continuation failed"
                        : "contradicts the register here";
                sb.append(String.format("  %s  (%s)%n", describe(id), why));
                shown++;
            }
        }
        if (more > 0) {
            sb.append(String.format("  ... and %d more%n", more));
        }
    }

    private int firstNotIn(int[] order) {
        boolean[] done = new boolean[ops.length];
        for (int id : order) {
            done[id] = true;
        }
        for (int id = 0; id < ops.length; id++) {
            if (!done[id] && ops[id].known()) {
                return id;
            }
        }
        return ops.length - 1;
    }

    private static boolean allowed(String state, Operation op) {
        if (!op.known()) {
            return true;
        }
        return switch (op.kind()) {
            case READ -> Objects.equals(state, op.value());
            case WRITE -> true;
            case CAS -> op.result() == Objects.equals(state, op.expected());
        };
    }

    private static String after(String state, Operation op) {
        return switch (op.kind()) {
            case READ -> state;
            case WRITE -> op.value();
            case CAS -> Objects.equals(state, op.expected()) ? op.value() : state;
        };
    }

    /** One line per operation: id, client, kind, values and times. */
    private String describe(int id) {
        Operation op = ops[id];
        String what = switch (op.kind()) {
            case READ -> "READ -> " + show(op.value());
            case WRITE -> "WRITE " + show(op.value());
            case CAS -> "CAS " + show(op.expected()) + " -> " + show(op.value())
                    + (op.known() ? (op.result() ? " swapped" : " not swapped") : "");
        };
        String outcome = op.known() ? "" : " (outcome unknown)";
        String ret = op.known() ? Long.toString(op.returnTime()) : "unknown";
        return String.format("#%-3d client %-3d %s%s  [call %d, return %s]",
                id, op.clientId(), what, outcome, op.callTime(), ret);
    }

    private static String show(String value) {
        return value == null ? "absent" : quote(value);
    }

    private static String quote(String s) {
        return '"' + s + '"';
    }
}
