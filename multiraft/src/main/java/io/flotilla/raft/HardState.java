package io.flotilla.raft;

/**
 * The state a replica must make durable before it answers votes or appends: current term, the
 * candidate it voted for in that term (0 for none), and the commit index.
 */
public record HardState(long term, long vote, long commit) {
    public static final HardState EMPTY = new HardState(0, 0, 0);

    @Override
    public String toString() {
        return "term=" + term + " vote=" + vote + " commit=" + commit;
    }
}
