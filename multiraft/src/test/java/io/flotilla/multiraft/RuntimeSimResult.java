package io.flotilla.multiraft;

import java.util.List;

/**
 * What one seed of the runtime simulation did and found. Immutable.
 *
 * @param seed            the seed
 * @param ops             client operations recorded in the history (unknown outcomes included)
 * @param nemesisEvents   faults injected
 * @param violations      the kinds of check that failed (empty: the seed passed)
 * @param report          for a failing seed: each violated check and the trace before the first violation
 * @param fingerprint     a digest of the run, equal for two runs of one seed
 * @param unknownOps      writes and CAS whose outcome the client never learned
 * @param leaderTerms     (group, term) pairs that had a leader
 * @param crashes         nodes crashed (power failures, supervisor kills)
 * @param restarts        node incarnations started after the first
 * @param batchesDelivered message batches the network delivered
 * @param listeners       listeners handed to the runtime
 * @param wallNs          wall-clock time the seed took
 * @param cpuNs           CPU time of the thread that ran it (the machine may be shared)
 * @param simulatedNs     simulated time the seed covered
 * @param maintenance     summed over nodes and incarnations (see {@link RuntimeSimNode#counters}): snapshots sent,
 *                        installed, compactions, log segments purged, log records rewritten forward
 * @param maxWalSegments  with snapshots: the most log segments a node held once its log sweeps settled (0 without)
 */
record RuntimeSimResult(long seed, long ops, long nemesisEvents, List<RuntimeSimChecker.Kind> violations, String report,
        long fingerprint, long unknownOps, long leaderTerms, long crashes, long restarts, long batchesDelivered,
        long listeners, long wallNs, long cpuNs, long simulatedNs, long[] maintenance, int maxWalSegments) {

    boolean ok() {
        return violations.isEmpty();
    }
}
