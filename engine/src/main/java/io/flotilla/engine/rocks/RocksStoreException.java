package io.flotilla.engine.rocks;

/**
 * RocksDB refused an operation the node cannot do without (a write, a column family change): the
 * node stops (fail-stop) and restarts from its log. Thrown on the calling thread.
 */
public final class RocksStoreException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public RocksStoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
