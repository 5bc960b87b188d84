package io.flotilla.sim;

/**
 * A broken invariant found by the simulation. It stops the seed at once (the cluster state after a
 * violation proves nothing); the message names the simulated time and the values involved.
 */
final class SimViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SimViolation(long nowUs, String message) {
        super(String.format("t=%.3fms %s", nowUs / 1000.0, message), null, false, false);
    }
}
