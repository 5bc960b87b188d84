package io.flotilla.sim;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.raft.Message;
import io.flotilla.raft.ReadState;
import io.flotilla.raft.Ready;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The simulation can fail: a replica broken on purpose through {@link SimHooks} must be caught.
 * (A checker that never fires proves nothing.)
 */
class SimulationSelfTest {

    /** Sends votes and append acknowledgements before the writes they promise are durable. */
    private static final SimHooks ACK_BEFORE_PERSIST = SimHooks.NONE.withReady((nodeId, groupId, rd) -> {
        List<Message> now = new ArrayList<>(rd.messages());
        now.addAll(rd.messagesAfterPersist());
        return new Ready(rd.number(), rd.softState(), rd.hardState(), rd.snapshot(), rd.entries(), rd.committedEntries(),
                now, List.of(), rd.readStates());
    });

    /** Serves reads three entries before their read index. */
    private static final SimHooks STALE_READS = SimHooks.NONE.withReady((nodeId, groupId, rd) -> new Ready(rd.number(),
            rd.softState(), rd.hardState(), rd.snapshot(), rd.entries(), rd.committedEntries(), rd.messages(),
            rd.messagesAfterPersist(),
            rd.readStates().stream().map(r -> new ReadState(r.requestId(), Math.max(0, r.index() - 3), r.ok())).toList()));

    @Test
    void acknowledgingBeforePersistingIsCaught() {
        for (long seed = 1; seed <= 3; seed++) {
            SimResult r = new SimCluster(SimConfig.forSeed(seed), ACK_BEFORE_PERSIST).run();
            assertFalse(r.ok(), "seed " + seed + " did not notice acknowledgements sent before persisting");
        }
    }

    @Test
    void staleReadsMakeAHistoryNonLinearizable() {
        boolean caught = false;
        for (long seed = 1; seed <= 10 && !caught; seed++) {
            SimResult r = new SimCluster(SimConfig.forSeed(seed), STALE_READS).run();
            caught = r.violations().stream().anyMatch(v -> v.contains("ILLEGAL"));
        }
        assertTrue(caught, "no seed of 1..10 found the stale reads non-linearizable");
    }
}
