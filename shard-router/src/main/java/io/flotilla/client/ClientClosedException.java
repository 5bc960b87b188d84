package io.flotilla.client;

/** The client was closed before the call completed, or the call was made after. Immutable, any thread. */
public final class ClientClosedException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public ClientClosedException(String message) {
        super(message);
    }
}
