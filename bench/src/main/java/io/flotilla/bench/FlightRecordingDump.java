package io.flotilla.bench;

import com.sun.tools.attach.VirtualMachine;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.management.MBeanServerConnection;
import javax.management.ObjectName;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;

/**
 * Copies the flight recording a node JVM has been running since it started ({@link #NODE_JVM_OPTIONS})
 * to a file, while the node runs. Uses the JDK's attach API and the node's DiagnosticCommand MBean
 * ({@code JFR.dump}, as jcmd does), and falls back to running {@code jcmd} if attaching fails. Used by
 * the thread that runs the benchmark.
 *
 * <p>The recording is started with the JVM rather than at run time ({@code JFR.start}): starting it
 * later changes the JVMTI state of the node, which invalidates compiled code and costs seconds of
 * recompilation in the middle of the run.
 */
public final class FlightRecordingDump {
    public static final String RECORDING_NAME = "flotilla";
    /**
     * Node JVM options for a recording from the start: the JDK's {@code profile} settings (execution
     * samples every 10 ms, allocation samples), with the per-thread CPU load every second instead of
     * every 10 s, so that a 10-second window has CPU figures for each thread.
     */
    public static final List<String> NODE_JVM_OPTIONS = List.of(
            "-XX:StartFlightRecording=settings=profile,name=" + RECORDING_NAME + ",jdk.ThreadCPULoad#period=1s");

    private FlightRecordingDump() {
    }

    /** Writes the recording of the JVM with process id {@code pid} to {@code file}. */
    public static void dump(long pid, Path file) throws IOException, InterruptedException {
        Path target = file.toAbsolutePath(); // the node resolves a relative name against its own directory
        Files.createDirectories(target.getParent());
        try {
            dumpByAttach(pid, target);
        } catch (Exception attachFailed) {
            dumpByJcmd(pid, target, attachFailed);
        }
    }

    private static void dumpByAttach(long pid, Path file) throws Exception {
        VirtualMachine vm = VirtualMachine.attach(Long.toString(pid));
        try {
            JMXServiceURL url = new JMXServiceURL(vm.startLocalManagementAgent());
            try (JMXConnector connector = JMXConnectorFactory.connect(url)) {
                MBeanServerConnection server = connector.getMBeanServerConnection();
                String[] args = {"name=" + RECORDING_NAME, "filename=" + file};
                Object output = server.invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"), "jfrDump",
                        new Object[] {args}, new String[] {String[].class.getName()});
                if (!Files.isRegularFile(file)) {
                    throw new IOException("JFR.dump in pid " + pid + " wrote no " + file + ": " + output);
                }
            }
        } finally {
            vm.detach();
        }
    }

    private static void dumpByJcmd(long pid, Path file, Exception attachFailed) throws IOException, InterruptedException {
        Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "JFR.dump", "name=" + RECORDING_NAME,
                "filename=" + file).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim(); // until jcmd exits
        p.waitFor();
        if (!Files.isRegularFile(file)) {
            throw new IOException("could not dump the flight recording of pid " + pid + " to " + file + ": attaching failed ("
                    + attachFailed + ") and " + jcmd + " said: " + output);
        }
    }
}
