package io.flotilla.client;

/**
 * The keys of a batch lie in more than one range; a batch is atomic within one range only and
 * nothing was sent. Immutable, any thread.
 */
public final class KeysSpanRangesException extends FlotillaException {
    private static final long serialVersionUID = 1L;

    public KeysSpanRangesException(String message) {
        super(message);
    }
}
