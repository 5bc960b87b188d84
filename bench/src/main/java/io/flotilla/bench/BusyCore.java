package io.flotilla.bench;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A competing process that keeps one core busy while measured runs go on: {@code yes} with its
 * output thrown away (the same as {@code yes > /dev/null} in a shell), which spins on one core in
 * user and kernel time and touches nothing the benchmark uses. It is a separate process, so the
 * benchmark's own CPU figures do not include it.
 *
 * <p>Owned by the bench's main thread, which starts and closes it. Closing kills exactly the
 * process this object started, by its PID (SIGTERM, then SIGKILL if it has not gone within five
 * seconds); a shutdown hook does the same if the JVM exits before that (Ctrl-C, an exception).
 */
final class BusyCore implements AutoCloseable {
    private static final long STOP_TIMEOUT_S = 5;

    private final Process process;
    private final Thread killOnExit;
    private boolean closed;

    private BusyCore(Process process) {
        this.process = process;
        this.killOnExit = new Thread(process::destroyForcibly, "runtime-bench-busy-core-reaper");
        Runtime.getRuntime().addShutdownHook(killOnExit);
    }

    /**
     * Starts {@code yes}, its standard output and error going to the null device.
     *
     * @throws IOException if {@code yes} cannot be started or exits at once
     */
    static BusyCore start() throws IOException {
        Process p;
        try {
            p = new ProcessBuilder("yes")
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                    .redirectError(ProcessBuilder.Redirect.DISCARD)
                    .start();
        } catch (IOException e) {
            throw new IOException("--busy-core needs the 'yes' program (GNU coreutils) on PATH: " + e.getMessage(), e);
        }
        if (!p.isAlive()) {
            throw new IOException("--busy-core: 'yes' exited at once with status " + p.exitValue());
        }
        return new BusyCore(p);
    }

    long pid() {
        return process.pid();
    }

    /** CPU time the process has used so far, in ns; -1 if the system does not say. */
    long cpuNs() {
        return process.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
    }

    /** Kills the process started by {@link #start} and waits for it to end. Idempotent. */
    @Override
    public void close() throws InterruptedException {
        if (closed) {
            return;
        }
        closed = true;
        process.destroy();
        if (!process.waitFor(STOP_TIMEOUT_S, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(STOP_TIMEOUT_S, TimeUnit.SECONDS);
        }
        try {
            Runtime.getRuntime().removeShutdownHook(killOnExit);
        } catch (IllegalStateException e) {
            // The JVM is already shutting down; the hook runs and finds the process gone.
        }
    }
}
