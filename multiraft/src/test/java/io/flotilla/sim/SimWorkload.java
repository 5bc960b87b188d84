package io.flotilla.sim;

import io.flotilla.check.Operation;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The clients of every group, the history each group's clients record for the linearizability
 * checker, and the switch that stops new operations at the end of a run. Owned by the single
 * thread that runs the seed.
 */
final class SimWorkload {
    private final List<SimClient> clients = new ArrayList<>();
    private final List<List<Operation>> histories = new ArrayList<>();
    private boolean issuing = true;
    private int completed;
    private int unknown;

    SimWorkload(SimCluster cluster, SplittableRandom random) {
        SimConfig config = cluster.config();
        for (int g = 1; g <= config.groupCount(); g++) {
            histories.add(new ArrayList<>());
            for (int c = 0; c < config.clientsPerGroup(); c++) {
                clients.add(new SimClient(cluster, this, random.split(), g * 100 + c, g));
            }
        }
    }

    void start() {
        for (SimClient c : clients) {
            c.start();
        }
    }

    boolean issuing() {
        return issuing;
    }

    /** No new operations from now on; those in flight still complete or time out. */
    void stopIssuing() {
        issuing = false;
    }

    int busyClients() {
        int n = 0;
        for (SimClient c : clients) {
            if (c.busy()) {
                n++;
            }
        }
        return n;
    }

    void record(int groupId, Operation op) {
        histories.get(groupId - 1).add(op);
        completed++;
    }

    void recordUnknown(int groupId, Operation op) {
        histories.get(groupId - 1).add(op);
        unknown++;
    }

    List<Operation> history(int groupId) {
        return histories.get(groupId - 1);
    }

    /** Operations that completed or ended unknown: what the checker sees. */
    int ops() {
        return completed + unknown;
    }

    int unknownOps() {
        return unknown;
    }
}
