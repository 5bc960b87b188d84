package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The linearizability search over one key's sub-history: Wing &amp; Gong's depth-first search
 * over call and return events, with Lowe's cache of (set of linearized operations, register
 * value) to prune states already explored, as Porcupine does. Used once, by the thread that
 * created it.
 *
 * <p>The events of operations with a known outcome sit in a doubly linked list sorted by time.
 * At each level the search tries, in order, every call that comes before the first return in
 * the list; a call the register allows is linearized (its call and return are unlinked, and the
 * next level starts at the head). Reaching a return means that operation must already have
 * taken effect, so the search backtracks.
 *
 * <p>Operations with an unknown outcome return at +infinity: they never block anything, the
 * register always accepts them, and they may never happen at all. So the search succeeds as
 * soon as every known operation is linearized, tries unknown ones only after the known ones at
 * each level, and prunes by dominance: if (known set K, unknown set U, value v) failed, then
 * (K, U', v) fails too for every superset U' of U, because any continuation of the latter works
 * from the former with the extra unknown operations left out. Without this a failing search
 * revisits each state once per subset of the pending unknown operations (a 300-operation key
 * with 5% unknown outcomes ran past 5,000,000 steps).
 *
 * <p>More reductions keep the number of unknown subsets down, all exact (each drops only
 * states that another explored state dominates):
 * <ul>
 *   <li>Values that no known READ returns and no CAS expects are indistinguishable to every
 *       operation here, so the search folds them into one {@link #UNOBSERVED} value: a write
 *       nobody saw is a write nobody saw, whatever it wrote.
 *   <li>Unknown operations identical after that folding are interchangeable once called, so the
 *       search uses the earliest unused one of a group first.
 *   <li>An unknown operation that would not change the value is skipped: leaving it out is at
 *       least as good.
 *   <li>Right after an unknown operation, an unknown WRITE is skipped: it overwrites the effect
 *       of the first, so using it in the first's place is at least as good. An unknown CAS may
 *       follow, since it reads the value. Because this rule depends on the path, whether the
 *       last operation was unknown is part of each memoized state.
 * </ul>
 * Without these, a history that needs one unknown write to have happened just before a read
 * made the search try chains of the other pending unknown operations there, each chain a new
 * state (a correct 300-operation key with 20% unknown outcomes ran past 5,000,000 steps).
 */
final class RegisterSearch {
    /** The register value standing for every value no operation can tell apart from another. */
    private static final Object UNOBSERVED = new Object() {
        @Override
        public String toString() {
            return "<unobserved>";
        }
    };

    private final String key;
    /** The sub-history sorted by call time; an operation's index here is its id in reports. */
    private final Operation[] ops;
    /** Per operation id: its bit in the known or the unknown bitset, by {@link Operation#known()}. */
    private final int[] slot;
    /** Ids of the operations with an unknown outcome, in call-time order; slot i is unknownIds[i]. */
    private final int[] unknownIds;
    /** Per unknown slot: the previous slot holding an identical operation, or -1. */
    private final int[] twinSlot;
    /** Per operation id: its value and expected value as the search sees them (folded). */
    private final Object[] searchValue;
    private final Object[] searchExpected;
    private final Object initialState;
    private final int knownCount;
    private final long maxSteps;

    /** Deepest linearization found, by known operations linearized: operation ids in order. */
    private int[] bestOrder = new int[0];
    private int bestKnown = 0;

    RegisterSearch(String key, List<Operation> subHistory, long maxSteps) {
        this.key = key;
        this.ops = subHistory.toArray(new Operation[0]);
        // Stable sort: equal calls keep the caller's order, so reports are reproducible.
        Arrays.sort(ops, Comparator.comparingLong(Operation::callTime)
                .thenComparingLong(Operation::effectiveReturnTime)
                .thenComparingInt(Operation::clientId));
        this.slot = new int[ops.length];
        int known = 0;
        int unknown = 0;
        for (int id = 0; id < ops.length; id++) {
            Check.argument(ops[id].key().equals(key),
                    "operation %s in the sub-history of key %s", ops[id], key);
            Check.argument(ops[id].known() || ops[id].kind() != OpKind.READ,
                    "unknown READ %s reached the search; it carries no information", ops[id]);
            slot[id] = ops[id].known() ? known++ : unknown++;
        }
        this.knownCount = known;
        this.unknownIds = new int[unknown];
        for (int id = 0; id < ops.length; id++) {
            if (!ops[id].known()) {
                unknownIds[slot[id]] = id;
            }
        }
        this.maxSteps = maxSteps;

        Set<String> observed = new HashSet<>();
        for (Operation op : ops) {
            if (op.kind() == OpKind.READ) {
                observed.add(op.value());
            } else if (op.kind() == OpKind.CAS) {
                observed.add(op.expected());
            }
        }
        this.searchValue = new Object[ops.length];
        this.searchExpected = new Object[ops.length];
        for (int id = 0; id < ops.length; id++) {
            searchValue[id] = fold(observed, ops[id].value());
            searchExpected[id] = ops[id].kind() == OpKind.CAS ? fold(observed, ops[id].expected()) : null;
        }
        this.initialState = fold(observed, null);

        this.twinSlot = new int[unknown];
        Map<List<Object>, Integer> lastSlotOfShape = new HashMap<>();
        for (int s = 0; s < unknown; s++) {
            int id = unknownIds[s];
            // Arrays.asList, not List.of: the folded values may be null (absent).
            List<Object> shape = Arrays.asList(ops[id].kind(), searchExpected[id], searchValue[id]);
            Integer previous = lastSlotOfShape.put(shape, s);
            twinSlot[s] = previous == null ? -1 : previous;
        }
    }

    private static Object fold(Set<String> observed, String value) {
        return observed.contains(value) ? value : UNOBSERVED;
    }

    CheckResult run() {
        Event head = buildEvents();
        long[] knownBits = new long[(knownCount + 63) >>> 6];
        long[] unknownBits = new long[(unknownIds.length + 63) >>> 6];
        Map<CacheKey, List<Visit>> cache = new HashMap<>();
        // The stack of linearized operations, one frame per level.
        int[] frameOp = new int[ops.length];
        Event[] frameEvent = new Event[ops.length];
        Object[] frameStateBefore = new Object[ops.length];
        Visit[] frameVisit = new Visit[ops.length];
        long[] frameFirstReturn = new long[ops.length];
        int depth = 0;

        Object state = initialState;
        int knownRemaining = knownCount;
        // Where this level's iteration is: a call in the list, then an unknown operation.
        boolean triesUnknown = false;
        Event entry = head.next;
        int unknownSlot = 0;
        long firstReturn = 0;
        long steps = 0;
        while (knownRemaining > 0) {
            if (steps == maxSteps) {
                return budgetExhausted(steps);
            }
            steps++;
            if (!triesUnknown) {
                if (!entry.call) {
                    // Every known call before this return was tried; the unknown ones called by
                    // now are the rest of this level's candidates.
                    triesUnknown = true;
                    firstReturn = entry.time;
                    unknownSlot = 0;
                    continue;
                }
                int id = entry.opId;
                if (allowed(state, id)) {
                    Object after = after(state, id);
                    setBit(knownBits, slot[id]);
                    Visit visit = visit(cache, knownBits, unknownBits, after, false);
                    if (visit != null) {
                        frameOp[depth] = id;
                        frameEvent[depth] = entry;
                        frameStateBefore[depth] = state;
                        frameVisit[depth] = visit;
                        depth++;
                        state = after;
                        knownRemaining--;
                        lift(entry);
                        if (knownCount - knownRemaining > bestKnown) {
                            recordBest(frameOp, depth, knownCount - knownRemaining);
                        }
                        entry = head.next;
                        continue;
                    }
                    clearBit(knownBits, slot[id]);
                }
                entry = entry.next;
            } else if (unknownSlot < unknownIds.length
                    && ops[unknownIds[unknownSlot]].callTime() <= firstReturn) {
                int id = unknownIds[unknownSlot];
                int twin = twinSlot[unknownSlot];
                boolean afterUnknown = depth > 0 && frameEvent[depth - 1] == null;
                Object after = after(state, id);
                // Skipped (see the class comment): used already; an identical one called earlier
                // is unused; no effect; a write right after another unknown operation.
                if (!getBit(unknownBits, unknownSlot)
                        && (twin < 0 || getBit(unknownBits, twin))
                        && !Objects.equals(after, state)
                        && !(afterUnknown && ops[id].kind() == OpKind.WRITE)) {
                    setBit(unknownBits, unknownSlot);
                    Visit visit = visit(cache, knownBits, unknownBits, after, true);
                    if (visit != null) {
                        frameOp[depth] = id;
                        frameEvent[depth] = null;
                        frameStateBefore[depth] = state;
                        frameVisit[depth] = visit;
                        frameFirstReturn[depth] = firstReturn;
                        depth++;
                        state = after;
                        triesUnknown = false;
                        entry = head.next;
                        continue;
                    }
                    clearBit(unknownBits, unknownSlot);
                }
                unknownSlot++;
            } else {
                // No candidate at this level leads anywhere: undo the last linearization and
                // resume its level after the operation it tried.
                if (depth == 0) {
                    return illegal();
                }
                depth--;
                frameVisit[depth].finished = true;
                state = frameStateBefore[depth];
                Event call = frameEvent[depth];
                if (call != null) {
                    clearBit(knownBits, slot[call.opId]);
                    knownRemaining++;
                    unlift(call);
                    triesUnknown = false;
                    entry = call.next;
                } else {
                    unknownSlot = slot[frameOp[depth]];
                    clearBit(unknownBits, unknownSlot);
                    unknownSlot++;
                    firstReturn = frameFirstReturn[depth];
                    triesUnknown = true;
                }
            }
        }
        return new CheckResult(Verdict.OK, null, "");
    }

    /** Whether the register, holding folded {@code state}, can give operation {@code id} its answer. */
    private boolean allowed(Object state, int id) {
        Operation op = ops[id];
        if (!op.known()) {
            // Unknown WRITE and CAS take whichever outcome the state gives; unknown READs were dropped.
            return true;
        }
        return switch (op.kind()) {
            case READ -> Objects.equals(state, searchValue[id]);
            case WRITE -> true;
            case CAS -> op.result() == Objects.equals(state, searchExpected[id]);
        };
    }

    /** The folded register value after operation {@code id}, which must be allowed, acts on {@code state}. */
    private Object after(Object state, int id) {
        return switch (ops[id].kind()) {
            case READ -> state;
            case WRITE -> searchValue[id];
            case CAS -> Objects.equals(state, searchExpected[id]) ? searchValue[id] : state;
        };
    }

    /** The same as {@link #after} on the real values, for reports. */
    private static String afterReal(String state, Operation op) {
        return switch (op.kind()) {
            case READ -> state;
            case WRITE -> op.value();
            case CAS -> Objects.equals(state, op.expected()) ? op.value() : state;
        };
    }

    /** Builds the list of known operations' events sorted by time; returns its sentinel head. */
    private Event buildEvents() {
        Event[] events = new Event[2 * knownCount];
        int n = 0;
        for (int id = 0; id < ops.length; id++) {
            if (ops[id].known()) {
                Event call = new Event(id, true, ops[id].callTime());
                Event ret = new Event(id, false, ops[id].returnTime());
                call.match = ret;
                events[n++] = call;
                events[n++] = ret;
            }
        }
        // At equal times calls sort before returns: an operation returning at t and one called
        // at t are concurrent, so either may be linearized first.
        Arrays.sort(events, Comparator.comparingLong((Event e) -> e.time)
                .thenComparing(e -> !e.call)
                .thenComparingInt(e -> e.opId));
        Event head = new Event(-1, false, Long.MIN_VALUE);
        Event last = head;
        for (Event e : events) {
            last.next = e;
            e.prev = last;
            last = e;
        }
        return head;
    }

    /** Unlinks a call and its return. Invariant: undone by {@link #unlift} in reverse (stack) order. */
    private static void lift(Event call) {
        call.prev.next = call.next;
        if (call.next != null) {
            call.next.prev = call.prev;
        }
        Event ret = call.match;
        ret.prev.next = ret.next;
        if (ret.next != null) {
            ret.next.prev = ret.prev;
        }
    }

    /** Relinks a call and its return, in the reverse order of {@link #lift}. */
    private static void unlift(Event call) {
        Event ret = call.match;
        ret.prev.next = ret;
        if (ret.next != null) {
            ret.next.prev = ret;
        }
        call.prev.next = call;
        if (call.next != null) {
            call.next.prev = call;
        }
    }

    /**
     * Registers a visit to (knownBits, unknownBits, state, afterUnknown), or returns null when
     * the search need not go there: a finished, so failed, visit with the same known set and
     * value had a subset of these unknown operations linearized and no fewer choices next (it
     * did not follow an unknown operation, or this one does too). An unfinished visit is an
     * ancestor, which has fewer operations linearized, so an exact repeat is always finished.
     * Probes share the live bitsets; only a new visit pays for copies.
     */
    private static Visit visit(Map<CacheKey, List<Visit>> cache, long[] knownBits, long[] unknownBits,
                               Object state, boolean afterUnknown) {
        List<Visit> visits = cache.get(new CacheKey(knownBits, state));
        if (visits == null) {
            visits = new ArrayList<>(2);
            cache.put(new CacheKey(knownBits.clone(), state), visits);
        } else {
            for (Visit v : visits) {
                if (v.finished && (!v.afterUnknown || afterUnknown) && isSubset(v.unknownBits, unknownBits)) {
                    return null;
                }
            }
        }
        Visit visit = new Visit(unknownBits.clone(), afterUnknown);
        visits.add(visit);
        return visit;
    }

    private static boolean isSubset(long[] sub, long[] of) {
        for (int i = 0; i < sub.length; i++) {
            if ((sub[i] & ~of[i]) != 0) {
                return false;
            }
        }
        return true;
    }

    private static void setBit(long[] bits, int i) {
        bits[i >>> 6] |= 1L << i;
    }

    private static void clearBit(long[] bits, int i) {
        bits[i >>> 6] &= ~(1L << i);
    }

    private static boolean getBit(long[] bits, int i) {
        return (bits[i >>> 6] & (1L << i)) != 0;
    }

    private void recordBest(int[] frameOp, int depth, int known) {
        bestKnown = known;
        bestOrder = Arrays.copyOf(frameOp, depth);
    }

    private CheckResult illegal() {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("key %s is not linearizable: no order of its %d operations respects"
                + " both real time and the register's answers.%n", quote(key), ops.length));
        appendSubHistory(sb);
        appendBestPrefix(sb);
        appendStuck(sb);
        return new CheckResult(Verdict.ILLEGAL, key, sb.toString());
    }

    private CheckResult budgetExhausted(long steps) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format("key %s: the search stopped after %d steps without a decision"
                + " (%d operations). Raise maxSteps, or check shorter histories or fewer concurrent"
                + " clients per key.%n", quote(key), steps, ops.length));
        appendSubHistory(sb);
        appendBestPrefix(sb);
        return new CheckResult(Verdict.UNKNOWN, key, sb.toString());
    }

    private void appendSubHistory(StringBuilder sb) {
        sb.append(String.format("Sub-history of key %s, sorted by call time:%n", quote(key)));
        for (int id = 0; id < ops.length; id++) {
            sb.append("  ").append(describe(id)).append(System.lineSeparator());
        }
    }

    private void appendBestPrefix(StringBuilder sb) {
        sb.append(String.format("Longest linearizable prefix found (%d of %d operations):%n",
                bestOrder.length, ops.length));
        if (bestOrder.length == 0) {
            sb.append("  (none: no operation can take effect first)").append(System.lineSeparator());
        }
        String state = null;
        for (int id : bestOrder) {
            state = afterReal(state, ops[id]);
            sb.append(String.format("  %s  => register %s%n", describe(id), show(state)));
        }
    }

    /**
     * Lists what could go next after the longest prefix: the operations not in it that no other
     * remaining operation precedes in real time. Each one either contradicts the register there,
     * or the search tried it and every continuation failed.
     */
    private void appendStuck(StringBuilder sb) {
        boolean[] done = new boolean[ops.length];
        for (int id : bestOrder) {
            done[id] = true;
        }
        long firstReturn = Long.MAX_VALUE;
        for (int id = 0; id < ops.length; id++) {
            if (!done[id]) {
                firstReturn = Math.min(firstReturn, ops[id].effectiveReturnTime());
            }
        }
        String state = null;
        Object searchState = initialState;
        for (int id : bestOrder) {
            state = afterReal(state, ops[id]);
            searchState = after(searchState, id);
        }
        sb.append(String.format("After that prefix the register holds %s, and none of the operations"
                + " that may go next leads to a full linearization:%n", show(state)));
        for (int id = 0; id < ops.length; id++) {
            if (!done[id] && ops[id].callTime() <= firstReturn) {
                String why = allowed(searchState, id)
                        ? "allowed here, but every continuation failed"
                        : "contradicts the register here";
                sb.append(String.format("  %s  (%s)%n", describe(id), why));
            }
        }
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

    /** A call or return event in the time-ordered list; mutable links, owned by one search. */
    private static final class Event {
        final int opId;
        final boolean call;
        final long time;
        /** For a call, its return; null for a return. */
        Event match;
        Event prev;
        Event next;

        Event(int opId, boolean call, long time) {
            this.opId = opId;
            this.call = call;
            this.time = time;
        }
    }

    /**
     * The cache key: which known operations are linearized and the register value after them.
     * Immutable once stored in the cache; a probe may share the search's live bitset.
     */
    private static final class CacheKey {
        final long[] linearized;
        final Object state;
        final int hash;

        CacheKey(long[] linearized, Object state) {
            this.linearized = linearized;
            this.state = state;
            this.hash = Arrays.hashCode(linearized) * 31 + Objects.hashCode(state);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof CacheKey other
                    && hash == other.hash
                    && Objects.equals(state, other.state)
                    && Arrays.equals(linearized, other.linearized);
        }

        @Override
        public int hashCode() {
            return hash;
        }
    }

    /** One visited set of linearized unknown operations under a cache key; owned by one search. */
    private static final class Visit {
        final long[] unknownBits;
        /** The last operation linearized had an unknown outcome, so fewer choices follow. */
        final boolean afterUnknown;
        /** Set when the search backtracks out of this state: its whole future failed. */
        boolean finished;

        Visit(long[] unknownBits, boolean afterUnknown) {
            this.unknownBits = unknownBits;
            this.afterUnknown = afterUnknown;
        }
    }
}
