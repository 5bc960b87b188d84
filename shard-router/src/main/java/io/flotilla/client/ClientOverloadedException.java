package io.flotilla.client;

/**
 * Refused at once, before anything was sent: the client already has {@code maxInFlight} calls in
 * flight. Immutable, any thread.
 */
public final class ClientOverloadedException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public ClientOverloadedException(String message) {
        super(message);
    }
}
