package io.flotilla.client;

/**
 * A call gave up before its deadline: its retry budget ran out while no replica could serve it
 * (unreachable nodes, no quorum, no leader). For a write the outcome is unknown. Immutable, any thread.
 */
public final class UnavailableException extends FlotillaException {
    private static final long serialVersionUID = 1L;
    private final boolean writeOutcomeUnknown;

    public UnavailableException(String message, boolean writeOutcomeUnknown) {
        super(message);
        this.writeOutcomeUnknown = writeOutcomeUnknown;
    }

    /** True for a write that may have been applied before the client gave up. */
    public boolean writeOutcomeUnknown() {
        return writeOutcomeUnknown;
    }
}
