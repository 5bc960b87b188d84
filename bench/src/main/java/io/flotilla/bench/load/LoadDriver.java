package io.flotilla.bench.load;

/** Keeps load on a {@link LoadTarget}: {@link ClosedLoop} or {@link OpenLoop}. Started and stopped by one thread. */
interface LoadDriver {
    /** Starts sending; returns at once. */
    void start();

    /** Operations sent and not yet answered. Any thread. */
    int inFlight();

    /** One line about the driver's own state for the progress line, or empty. Any thread. */
    String progressNote();

    /**
     * Stops sending and waits up to {@code timeoutMs} for the operations in flight to end. Returns
     * whether they all did.
     */
    boolean stop(long timeoutMs) throws InterruptedException;
}
