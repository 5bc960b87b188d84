package io.flotilla.client;

/**
 * A call did not complete within its deadline (the client's request timeout). For a write the
 * outcome is unknown: it may have been applied. Immutable, any thread.
 */
public final class DeadlineExceededException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final boolean writeOutcomeUnknown;

    public DeadlineExceededException(String message, boolean writeOutcomeUnknown) {
        super(message);
        this.writeOutcomeUnknown = writeOutcomeUnknown;
    }

    /** True for a write: it may or may not have been applied; read the key to find out. */
    public boolean writeOutcomeUnknown() {
        return writeOutcomeUnknown;
    }
}
