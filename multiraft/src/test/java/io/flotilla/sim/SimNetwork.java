package io.flotilla.sim;

import io.flotilla.raft.Message;
import java.util.SplittableRandom;

/**
 * The simulated network between nodes: a random delay per message (with rare slow outliers, so
 * messages reorder), loss, duplication, and directed links that can be cut (a partition is a set of
 * cut links, symmetric or not). A message in flight is dropped if either end crashes before it
 * arrives, or if its link is cut when it arrives. Owned by the single thread that runs the seed.
 */
final class SimNetwork {
    /** What the network needs from the cluster: node liveness and the two delivery outcomes. */
    interface Endpoints {
        /** Bumped on every crash, so messages to or from an earlier life are dropped. */
        int incarnation(int nodeId);

        boolean isUp(int nodeId);

        void deliver(Message m);

        /** {@code m} did not arrive; {@code partitioned} when a cut link dropped it. */
        void undeliverable(Message m, int senderIncarnation, boolean partitioned);
    }

    private final SimScheduler scheduler;
    private final SplittableRandom random;
    private final SimConfig config;
    private final Endpoints endpoints;
    private final SimTrace trace;
    /** cut[from][to]: messages from node {@code from} to node {@code to} are dropped. Index 0 unused. */
    private final boolean[][] cut;
    private double lossProbability;
    private double duplicateProbability;
    private double slowProbability;
    private long slowDelayUs;
    private long delivered;

    SimNetwork(SimScheduler scheduler, SplittableRandom random, SimConfig config, Endpoints endpoints, SimTrace trace) {
        this.scheduler = scheduler;
        this.random = random;
        this.config = config;
        this.endpoints = endpoints;
        this.trace = trace;
        this.cut = new boolean[config.nodeCount() + 1][config.nodeCount() + 1];
        restoreDefaults();
    }

    /** Back to the seed's base loss, duplication and slow-message rates. */
    void restoreDefaults() {
        lossProbability = config.baseLossProbability();
        duplicateProbability = config.baseDuplicateProbability();
        slowProbability = config.slowProbability();
        slowDelayUs = config.slowDelayUs();
    }

    /** No loss, duplication or slow outliers: used once the nemesis stops. */
    void quiet() {
        lossProbability = 0;
        duplicateProbability = 0;
        slowProbability = 0;
    }

    void setLoss(double loss, double duplicate) {
        lossProbability = loss;
        duplicateProbability = duplicate;
    }

    void setSlow(double probability, long delayUs) {
        slowProbability = probability;
        slowDelayUs = delayUs;
    }

    void cut(int from, int to) {
        cut[from][to] = true;
    }

    void healAll() {
        for (boolean[] row : cut) {
            java.util.Arrays.fill(row, false);
        }
    }

    long delivered() {
        return delivered;
    }

    void send(Message m) {
        int from = (int) m.from;
        int to = (int) m.to;
        if (from < 1 || from > config.nodeCount() || to < 1 || to > config.nodeCount()) {
            throw new SimViolation(scheduler.nowUs(), "group " + m.groupId + ": message to or from an unknown node: " + m);
        }
        boolean lost = random.nextDouble() < lossProbability;
        schedule(m, lost);
        if (!lost && random.nextDouble() < duplicateProbability) {
            // A duplicate is a separate object: the receiving core owns each message it is given.
            schedule(m.copy(), false);
        }
    }

    private void schedule(Message m, boolean lost) {
        int from = (int) m.from;
        int to = (int) m.to;
        int fromIncarnation = endpoints.incarnation(from);
        int toIncarnation = endpoints.incarnation(to);
        long delayUs = config.minNetDelayUs() + random.nextLong(config.maxNetDelayUs() - config.minNetDelayUs() + 1);
        if (slowProbability > 0 && random.nextDouble() < slowProbability) {
            delayUs += slowDelayUs;
        }
        scheduler.after(delayUs, () -> arrive(m, lost, fromIncarnation, toIncarnation));
    }

    private void arrive(Message m, boolean lost, int fromIncarnation, int toIncarnation) {
        int from = (int) m.from;
        int to = (int) m.to;
        if (endpoints.incarnation(from) != fromIncarnation) {
            return;
        }
        boolean partitioned = cut[from][to];
        if (lost || partitioned || endpoints.incarnation(to) != toIncarnation || !endpoints.isUp(to)) {
            endpoints.undeliverable(m, fromIncarnation, partitioned);
            return;
        }
        delivered++;
        trace.delivered(m);
        endpoints.deliver(m);
    }
}
