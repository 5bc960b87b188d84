package io.flotilla.client;

/**
 * The node refused the request as asked (such as a split key that does not lie strictly inside
 * its range); nothing was changed, and sending it again unchanged fails the same way. Immutable,
 * any thread.
 */
public final class InvalidArgumentException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public InvalidArgumentException(String message) {
        super(message);
    }
}
