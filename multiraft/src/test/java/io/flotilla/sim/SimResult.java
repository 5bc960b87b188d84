package io.flotilla.sim;

import java.util.List;

/**
 * What one seed's run produced. Immutable.
 *
 * @param ops client operations that completed or ended unknown (what the checker saw)
 * @param unknownOps of those, writes whose outcome the client never learned
 * @param nemesisEvents faults and reconfigurations the nemesis injected
 * @param leaderElections replicas that became leader (one per group and term)
 * @param snapshotsInstalled snapshots a leader sent that a follower installed
 * @param confChangesCommitted membership changes that took effect
 * @param violations broken invariants, liveness failures and non-linearizable histories; empty if none
 * @param fingerprint hash of every delivered message and applied entry: equal for two runs of one seed
 * @param simulatedUs simulated time the run took
 */
public record SimResult(
        long seed,
        int ops,
        int unknownOps,
        int nemesisEvents,
        long leaderElections,
        long snapshotsInstalled,
        long confChangesCommitted,
        long messagesDelivered,
        long eventsRun,
        long simulatedUs,
        long fingerprint,
        List<String> violations) {

    public boolean ok() {
        return violations.isEmpty();
    }
}
