package io.flotilla.tools;

import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code flotilla stop}: stops the node processes of a local cluster, gracefully. */
@Command(name = "stop", mixinStandardHelpOptions = true,
        description = {"Stops the nodes of the local cluster; its data stays.",
                "Each node gets SIGTERM (it hands its leaderships over and flushes), and SIGKILL after the",
                "grace period. `flotilla start` restarts the cluster from its data."})
final class StopCommand implements Callable<Integer> {
    @Option(names = "--data-dir", defaultValue = "flotilla-data", description = "the cluster's data directory (default: ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--grace-ms", defaultValue = "20000", description = "how long each node may take to stop (default: ${DEFAULT-VALUE})")
    long graceMs;

    @Override
    public Integer call() throws Exception {
        LocalClusterLayout layout = LocalClusterLayout.load(dataDir);
        if (layout == null) {
            System.err.printf("flotilla stop: no cluster in %s (nothing to stop)%n", dataDir.toAbsolutePath());
            return FlotillaCli.EXIT_FAILED;
        }
        int stopped = new LocalClusterProcesses(layout, System.out).stop(graceMs);
        System.out.printf("%d node%s stopped; the data stays in %s%n", stopped, stopped == 1 ? "" : "s", dataDir);
        return 0;
    }
}
