package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a node process is launched and how a node that dies while starting is reported, without starting one. */
class LocalClusterProcessesTest {
    /** Linux shows at most this much of a process's command line (one page of /proc/PID/cmdline). */
    private static final int SHOWN_COMMAND_LINE_BYTES = 4_096;

    @TempDir
    Path dir;

    @Test
    void theMainClassStaysInTheShownPartOfTheCommandLineHoweverLongTheClasspath() {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 3, 7100, 1, 8);
        ProcessBuilder pb = new LocalClusterProcesses(layout, System.out).nodeProcess(3, true);

        String commandLine = String.join("\0", pb.command());
        int mainEnd = commandLine.indexOf(LocalClusterProcesses.NODE_MAIN) + LocalClusterProcesses.NODE_MAIN.length();
        assertThat(mainEnd).as("end of the main class in %s", commandLine)
                .isBetween(LocalClusterProcesses.NODE_MAIN.length(), SHOWN_COMMAND_LINE_BYTES);
        assertThat(pb.command()).doesNotContain("-cp", "-classpath", "--class-path");
        // This test JVM's own classpath, which the real-process tests hand their nodes, is the one that outgrew a page.
        assertThat(pb.environment().get("CLASSPATH")).isEqualTo(System.getProperty("java.class.path"));
        assertThat(pb.command()).contains("--metrics-listen", "127.0.0.1:7133", "--join");
    }

    @Test
    void aNodeThatExitsWhileStartingIsReportedWithTheEndOfItsLog() throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 1, TestPorts.freeBase(1), 1, 8);
        LocalClusterProcesses processes = new LocalClusterProcesses(layout,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), true, List.of(),
                List.of("--no-such-flag"));
        assertThatThrownBy(() -> processes.start(60_000))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("node 1 exited during startup")
                .hasMessageContaining("--no-such-flag");
    }

    @Test
    void theEndOfANodesLogIsShown() throws Exception {
        LocalClusterLayout layout = new LocalClusterLayout(dir.resolve("cluster"), 1, 7100, 1, 8);
        LocalClusterProcesses processes = new LocalClusterProcesses(layout,
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8));
        assertThat(processes.logTail(1, 3)).startsWith("(the log cannot be read");

        Files.createDirectories(layout.nodeDir(1));
        Files.write(layout.logFile(1), List.of("one", "two", "three", "four: Address already in use"));
        assertThat(processes.logTail(1, 3)).isEqualTo("two\nthree\nfour: Address already in use");
    }
}
