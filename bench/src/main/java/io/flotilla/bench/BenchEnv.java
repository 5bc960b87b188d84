package io.flotilla.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * What the bench mains need from the machine: the setup line printed next to every figure, scratch
 * directories they create and delete themselves, and evicting a file from the page cache. Stateless;
 * called from the main thread.
 */
public final class BenchEnv {
    private BenchEnv() {
    }

    /** One line describing the machine and JVM, for the header of a result table. */
    public static String setupLine() {
        Runtime rt = Runtime.getRuntime();
        return String.format("JDK %s (%s), %d CPUs, heap max %d MiB, load %s, os %s %s",
                System.getProperty("java.version"), System.getProperty("java.vm.name"), rt.availableProcessors(),
                rt.maxMemory() >> 20, loadAverage(), System.getProperty("os.name"), System.getProperty("os.version"));
    }

    /** The 1, 5 and 15 minute load averages from {@code /proc/loadavg}, or "?" where there is none. */
    static String loadAverage() {
        try {
            String[] parts = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return parts[0] + " " + parts[1] + " " + parts[2];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** The 1 minute load average, or "?". */
    static String load1() {
        String all = loadAverage();
        int sp = all.indexOf(' ');
        return sp < 0 ? all : all.substring(0, sp);
    }

    /** The 1 minute load average as a number, or NaN where there is none. */
    static double load1Value() {
        try {
            return Double.parseDouble(load1());
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    /** Creates a fresh, uniquely named directory under {@code parent} (creating parent if needed). */
    static Path createScratch(Path parent, String prefix) throws IOException {
        Files.createDirectories(parent);
        return Files.createTempDirectory(parent, prefix);
    }

    /** Deletes {@code dir} and everything under it; does nothing if it is gone. Only ever called on our own scratch directories. */
    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            List<Path> paths = walk.sorted(Comparator.reverseOrder()).toList();
            for (Path p : paths) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /**
     * Asks the kernel to drop {@code file}'s clean pages from the page cache, with
     * {@code posix_fadvise(POSIX_FADV_DONTNEED)} through GNU dd ({@code dd if=FILE iflag=nocache count=0}),
     * since Java has no fadvise. Pages still dirty stay; the log forces everything before we get here.
     * Only the guest's cache is dropped: a virtual disk may still be cached by the host.
     *
     * @return false if dd is missing or failed (the caller then reports a warm measurement)
     */
    static boolean dropFromPageCache(Path file) {
        try {
            Process p = new ProcessBuilder("dd", "if=" + file, "iflag=nocache", "count=0", "status=none")
                    .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Bytes as MB (10^6), the unit of every MB/s figure the mains print. */
    static double megabytes(double bytes) {
        return bytes / 1e6;
    }
}
