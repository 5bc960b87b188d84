package io.flotilla.sim;

import io.flotilla.raft.Entry;
import io.flotilla.raft.Message;
import java.util.Arrays;

/**
 * A running fingerprint of everything observable in a run: every delivered message and every
 * applied entry. Two runs of one seed must end with the same fingerprint (determinism). Owned by
 * the single thread that runs the seed.
 */
final class SimTrace {
    private long hash = 0x243F6A8885A308D3L;

    long fingerprint() {
        return hash;
    }

    void delivered(Message m) {
        mix(m.type.code);
        mix(m.groupId);
        mix(m.from);
        mix(m.to);
        mix(m.term);
        mix(m.index);
        mix(m.logTerm);
        mix(m.commit);
        mix(m.entries.size());
        mix(m.reject ? 1 : 0);
        mix(m.context);
    }

    void applied(long nodeId, long groupId, Entry e) {
        mix(nodeId);
        mix(groupId);
        mix(e.index());
        mix(e.term());
        mix(Arrays.hashCode(e.data()));
    }

    void mix(long v) {
        hash = stir(hash ^ v);
    }

    /** The SplitMix64 finalizer: every input bit affects every output bit. */
    static long stir(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
