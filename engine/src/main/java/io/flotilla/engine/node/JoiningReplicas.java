package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Set;
import java.util.TreeSet;

/**
 * The empty replicas this node started as the target of a move, until they hold state. An empty
 * replica has no range descriptor, so a restart would take its group for one that no range names
 * and destroy it — tombstoning the range on this node for good, and leaving the move waiting for
 * ever for a learner that cannot come back. So the ids are kept in the data directory (written
 * durably before the replica starts), a restart hosts them again, empty, and the leader's snapshot
 * resumes; once a replica holds state it is forgotten here. Any thread (synchronized: rare).
 */
final class JoiningReplicas {
    private final DataDirectory directory;
    private final KvStateMachine stateMachine;
    private final Set<Long> ids;

    JoiningReplicas(DataDirectory directory, KvStateMachine stateMachine) throws IOException {
        this.directory = directory;
        this.stateMachine = stateMachine;
        this.ids = directory.joiningRanges();
    }

    /** The ranges whose empty replicas the last run started and that held no state yet. */
    synchronized Set<Long> ids() {
        return new TreeSet<>(ids);
    }

    /** Records durably that this node starts an empty replica of {@code rangeId}. */
    synchronized void add(long rangeId) {
        if (ids.add(rangeId)) {
            write();
        }
    }

    /** Forgets the replicas that hold state now (they restart like any other). */
    synchronized void forgetFilled() {
        if (ids.removeIf(id -> stateMachine.descriptor(id) != null)) {
            write();
        }
    }

    private void write() {
        try {
            directory.joiningRanges(ids);
        } catch (IOException e) {
            throw new UncheckedIOException("could not record the replicas this node joins in " + directory.root(), e);
        }
    }
}
