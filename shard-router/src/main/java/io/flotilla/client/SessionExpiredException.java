package io.flotilla.client;

/**
 * A range no longer remembers this client's session, so it cannot tell whether a retried write
 * was already applied and refused it rather than risk applying it twice. The write's outcome is
 * unknown. Immutable, any thread.
 */
public final class SessionExpiredException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public SessionExpiredException(String message) {
        super(message);
    }
}
