package io.flotilla.check;

import java.util.List;
import java.util.Objects;

/**
 * The definition of linearizability for one register, searched without memoization or pruning:
 * the reference the checker's reductions are tested against on small histories. Stateless.
 */
final class BruteForce {
    private BruteForce() {
    }

    /**
     * Whether some order of the operations respects real time (an operation goes only if no
     * remaining known operation returned before its call) and the register's answers, starting
     * from absent; unknown operations may go at any point or never, and unknown reads are
     * ignored. All operations must be on one key. Exponential: keep histories to a dozen.
     */
    static boolean linearizable(List<Operation> history) {
        List<Operation> ops = history.stream().filter(op -> op.known() || op.kind() != OpKind.READ).toList();
        return search(ops, new boolean[ops.size()], null);
    }

    private static boolean search(List<Operation> ops, boolean[] used, String state) {
        long firstReturn = Long.MAX_VALUE;
        boolean knownLeft = false;
        for (int i = 0; i < ops.size(); i++) {
            if (!used[i] && ops.get(i).known()) {
                knownLeft = true;
                firstReturn = Math.min(firstReturn, ops.get(i).returnTime());
            }
        }
        if (!knownLeft) {
            return true;
        }
        for (int i = 0; i < ops.size(); i++) {
            Operation op = ops.get(i);
            if (used[i] || op.callTime() > firstReturn) {
                continue;
            }
            boolean matches = Objects.equals(state, op.expected());
            boolean allowed = !op.known() || switch (op.kind()) {
                case READ -> Objects.equals(state, op.value());
                case WRITE -> true;
                case CAS -> op.result() == matches;
            };
            if (!allowed) {
                continue;
            }
            String after = switch (op.kind()) {
                case READ -> state;
                case WRITE -> op.value();
                case CAS -> matches ? op.value() : state;
            };
            used[i] = true;
            boolean found = search(ops, used, after);
            used[i] = false;
            if (found) {
                return true;
            }
        }
        return false;
    }
}
