package io.flotilla.wal;

/**
 * Hears of each group commit of the shared log as it ends, for a node's metrics. Called on the
 * log's writer thread, once per round, so it must be quick and must not block or call into the
 * log. Set with {@link Wal#observe}.
 */
public interface WalObserver {
    WalObserver NONE = (entries, commitNs, forceNs) -> { };

    /**
     * A group commit made {@code entries} Raft entries durable.
     *
     * @param commitNs from the start of the round's encoding to the end of its fsync
     * @param forceNs  the fsync alone (0 for a round none of whose batches needed one)
     */
    void committed(long entries, long commitNs, long forceNs);
}
