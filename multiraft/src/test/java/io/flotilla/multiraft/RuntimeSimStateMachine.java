package io.flotilla.multiraft;

/**
 * What the runtime simulation needs of a node's state machine besides the runtime's
 * {@link StateMachine} SPI: a flush at seeded times, a failpoint, and the answer a proposer reads
 * when its entry applied. {@link RuntimeSimRegisters} is the simulation's own; the engine's tests
 * plug in its key-value state machine. Owned by the seed's thread.
 */
interface RuntimeSimStateMachine extends StateMachine {
    /** Makes every group's current state durable (a memtable flush, on a thread of its own). */
    void flush();

    /** Arms or disarms the failpoint: the next {@link #apply} throws a {@link RuntimeSimRegisters.FailpointException}. */
    void failNextApply(boolean fail);

    /**
     * What the proposer of the entry applied at {@code index} of {@code groupId} learns in
     * {@link ProposalListener#onApplied} (a CAS outcome, a write result), or null; read once, at once.
     */
    Object appliedOutcome(long groupId, long index);
}
