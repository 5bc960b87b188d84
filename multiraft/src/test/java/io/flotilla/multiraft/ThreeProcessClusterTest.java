package io.flotilla.multiraft;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.testing.LoopbackPorts;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Three runtime nodes as three JVM processes on loopback: they replicate a few groups; one is
 * killed with SIGKILL mid-run and restarted from its write-ahead log; all three must end with the
 * same applied state in every group.
 */
class ThreeProcessClusterTest {
    private static final int GROUPS = 8;
    private static final int TARGET = 200;

    @TempDir
    Path dir;

    private final Map<Long, String> lastChecksums = new ConcurrentHashMap<>();
    private final List<Process> processes = new ArrayList<>();

    @Test
    void aKilledProcessRestartsFromItsLogAndConverges() throws Exception {
        int[] ports = new int[4];
        System.arraycopy(LoopbackPorts.reserve(3), 0, ports, 1, 3);
        try {
            Process[] p = new Process[4];
            for (long id = 1; id <= 3; id++) {
                p[(int) id] = spawn(id, ports);
            }
            LocalCluster.waitUntil(() -> progress(2) >= TARGET / 4, 60_000, "node 2 applies a quarter of the commands");
            p[2].destroyForcibly().waitFor();
            lastChecksums.remove(2L);
            p[2] = spawn(2, ports);
            LocalCluster.waitUntil(this::converged, 90_000, "all three processes report the same applied state");
            for (long id = 1; id <= 3; id++) {
                assertThat(p[(int) id].isAlive()).as("process %d alive", id).isTrue();
            }
        } finally {
            for (Process pr : processes) {
                pr.destroyForcibly();
            }
        }
    }

    private Process spawn(long id, int[] ports) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "--add-exports", "java.base/jdk.internal.misc=ALL-UNNAMED",
                "-Xmx256m", "-cp", System.getProperty("java.class.path"), ProcessNodeMain.class.getName(),
                Long.toString(id), dir.resolve("node" + id).toString(), Integer.toString(ports[1]),
                Integer.toString(ports[2]), Integer.toString(ports[3]), Integer.toString(GROUPS), Integer.toString(TARGET));
        pb.redirectErrorStream(true);
        Process process = pb.start();
        processes.add(process);
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("checksums")) {
                        lastChecksums.put(id, line);
                    } else if (!line.startsWith("started") && !line.contains("PeerLink") && !line.startsWith("INFO")) {
                        System.out.println("node " + id + ": " + line);
                    }
                }
            } catch (IOException e) {
                // the process ended
            }
        }, "node-" + id + "-output");
        reader.setDaemon(true);
        reader.start();
        return process;
    }

    /** The fewest commands node {@code id} reports applied in any group. */
    private int progress(long id) {
        String line = lastChecksums.get(id);
        if (line == null) {
            return 0;
        }
        int min = Integer.MAX_VALUE;
        for (String part : line.substring("checksums ".length()).split(" ")) {
            min = Math.min(min, Integer.parseInt(part.substring(part.indexOf(':') + 1, part.indexOf('/'))));
        }
        return min;
    }

    private boolean converged() {
        String one = lastChecksums.get(1L);
        return one != null && progress(1) >= TARGET && one.equals(lastChecksums.get(2L)) && one.equals(lastChecksums.get(3L));
    }
}
