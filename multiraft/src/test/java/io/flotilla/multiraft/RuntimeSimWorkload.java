package io.flotilla.multiraft;

import io.flotilla.check.Operation;
import java.util.List;

/**
 * The clients of one runtime simulation run, as {@link RuntimeSimCluster} drives them: they start
 * with the run, stop at its end, read every key once more after the quiet period, and leave a
 * register history for the linearizability checker. {@link RuntimeSimClients} is the simulation's
 * own. Owned by the seed's thread.
 */
interface RuntimeSimWorkload {
    void start();

    /** Every operation so far, unknown outcomes included. */
    List<Operation> history();

    /** Writes whose outcome a client never learned. */
    long unknownOps();

    /** After the final quiet period: one read of every key, each of which must succeed by {@code deadlineNs}. */
    void finalReads(long deadlineNs);

    boolean finalReadsDone();

    /** After the final reads and the linearizability check, with every node still up: the workload's own checks. */
    default void finalChecks() {
    }
}
