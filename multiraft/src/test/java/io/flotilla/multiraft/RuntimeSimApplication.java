package io.flotilla.multiraft;

import java.util.SplittableRandom;

/**
 * What runs on the simulated nodes of a {@link RuntimeSimCluster}: the state machine each node
 * incarnation starts with, and the workload. {@link #REGISTERS} is the simulation's own (the
 * registers of {@link RuntimeSimRegisters} and the clients of {@link RuntimeSimClients}); the
 * engine's tests plug in its key-value state machine and a client model of its own. Owned by the
 * seed's thread.
 */
interface RuntimeSimApplication {
    /** The simulation's own registers and clients. */
    RuntimeSimApplication REGISTERS = new RuntimeSimApplication() {
        @Override
        public RuntimeSimStateMachine recover(RuntimeSimCluster cluster, RuntimeSimNode node, RuntimeSimStateMachine crashed) {
            return RuntimeSimRegisters.recover(node.id, cluster, node.snapshots(), (RuntimeSimRegisters) crashed);
        }

        @Override
        public RuntimeSimWorkload workload(RuntimeSimCluster cluster, SplittableRandom random) {
            return new RuntimeSimClients(cluster, cluster.config(), random);
        }
    };

    /**
     * The state machine a new incarnation of {@code node} starts with: what survives of
     * {@code crashed}, the last incarnation's (null on the first start).
     */
    RuntimeSimStateMachine recover(RuntimeSimCluster cluster, RuntimeSimNode node, RuntimeSimStateMachine crashed);

    /** Whether {@code node}'s state machine is flushed at seeded times (it keeps durable state). */
    default boolean flushes(RuntimeSimNode node) {
        return node.snapshots() != null;
    }

    /**
     * Whether the operator leaves the membership of {@code groupId} alone for now: the application
     * changes it itself (a replica move under way), and the operator's own steps (promoting its
     * learner, adding a node) would race it.
     */
    default boolean holdsMembership(long groupId) {
        return false;
    }

    /**
     * Whether the nodes drop replicas that a newer membership removed (a node's RemovedReplicas):
     * the nemeses that take a replica away for good then also wait until no replica lags a removal.
     */
    default boolean dropsRemovedReplicas() {
        return false;
    }

    /** The run's clients, drawing from {@code random}. */
    RuntimeSimWorkload workload(RuntimeSimCluster cluster, SplittableRandom random);
}
