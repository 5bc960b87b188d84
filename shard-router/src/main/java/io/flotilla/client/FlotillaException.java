package io.flotilla.client;

/**
 * The root of every error a {@link FlotillaClient} call ends with. Each subclass names one way a
 * call can fail, and each message says what happened and what to do. Immutable; thrown or completed
 * on the client's I/O thread and read by any thread.
 */
public class FlotillaException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public FlotillaException(String message) {
        super(message);
    }

    public FlotillaException(String message, Throwable cause) {
        super(message, cause);
    }
}
