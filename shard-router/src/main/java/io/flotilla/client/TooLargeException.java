package io.flotilla.client;

/**
 * A request was over a size limit, of the node ({@code key}, {@code value}, {@code batch_ops},
 * {@code batch_bytes}) or of a frame; nothing was applied. Immutable, any thread.
 */
public final class TooLargeException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final String limit;
    private final long size;
    private final long max;

    public TooLargeException(String message, String limit, long size, long max) {
        super(message);
        this.limit = limit;
        this.size = size;
        this.max = max;
    }

    /** Which limit: "key", "value", "batch_ops", "batch_bytes" or "frame". */
    public String limit() {
        return limit;
    }

    public long size() {
        return size;
    }

    public long max() {
        return max;
    }
}
