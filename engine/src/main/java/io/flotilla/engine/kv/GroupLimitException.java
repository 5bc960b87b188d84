package io.flotilla.engine.kv;

/**
 * A store refused to create a group because it holds as many groups as its cap allows (with RocksDB,
 * every column family makes creating and dropping the next one slower). Thrown on the calling thread.
 */
public final class GroupLimitException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final int groups;
    private final int maxGroups;

    public GroupLimitException(int groups, int requested, int maxGroups) {
        super("this node holds " + groups + " ranges and was asked to create " + requested + " more, over its cap of "
                + maxGroups + " ranges per node; move ranges to other nodes or add nodes (the cap is configurable, but"
                + " each range is a RocksDB column family and creating or dropping one slows down as they grow)");
        this.groups = groups;
        this.maxGroups = maxGroups;
    }

    public int groups() {
        return groups;
    }

    public int maxGroups() {
        return maxGroups;
    }
}
