package io.flotilla.check;

import java.util.Objects;

/**
 * Replays a linearization that a search claims, on the real values, against the definition. A
 * {@link LinearizabilityChecker} verdict of OK stands on this check, not on the search's
 * reductions: whatever a reduction gets wrong, it cannot turn an illegal history into OK.
 * Stateless.
 */
final class Witness {
    private Witness() {
    }

    /**
     * Why {@code order} (ids in {@code ops}) is not a linearization of {@code ops}, or null if it
     * is: every known operation exactly once, every unknown one at most once, each after every
     * operation that returned before its call, and the register's answers as recorded, starting
     * from absent.
     */
    static String violation(Operation[] ops, int[] order) {
        boolean[] placed = new boolean[ops.length];
        String state = null;
        long latestCall = Long.MIN_VALUE;
        int latestCaller = -1;
        for (int position = 0; position < order.length; position++) {
            int id = order[position];
            if (id < 0 || id >= ops.length) {
                return String.format("position %d names operation %d of %d", position, id, ops.length);
            }
            if (placed[id]) {
                return String.format("operation #%d appears twice (again at position %d)", id, position);
            }
            placed[id] = true;
            Operation op = ops[id];
            if (op.effectiveReturnTime() < latestCall) {
                return String.format("operation #%d returned at %d but goes after #%d, called at %d",
                        id, op.returnTime(), latestCaller, latestCall);
            }
            if (op.callTime() > latestCall) {
                latestCall = op.callTime();
                latestCaller = id;
            }
            switch (op.kind()) {
                case READ -> {
                    if (!op.known()) {
                        return String.format("operation #%d is a READ with an unknown outcome", id);
                    }
                    if (!Objects.equals(state, op.value())) {
                        return String.format("READ #%d returned %s but the register holds %s", id, op.value(), state);
                    }
                }
                case WRITE -> state = op.value();
                case CAS -> {
                    boolean swaps = Objects.equals(state, op.expected());
                    if (op.known() && swaps != op.result()) {
                        return String.format("CAS #%d answered %s but the register holds %s (expected %s)",
                                id, op.result(), state, op.expected());
                    }
                    if (swaps) {
                        state = op.value();
                    }
                }
            }
        }
        for (int id = 0; id < ops.length; id++) {
            if (ops[id].known() && !placed[id]) {
                return String.format("known operation #%d is missing", id);
            }
        }
        return null;
    }
}
