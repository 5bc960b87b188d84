package io.flotilla.tools;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code flotilla} command: a local cluster on this machine ({@code demo}, {@code start},
 * {@code stop}), its state ({@code status}) and key-value commands against any cluster
 * ({@code put}, {@code get}, {@code delete}, {@code cas}, {@code scan}) and {@code split}. Exit codes: 0 success,
 * 1 the operation failed (the message says why), 2 bad usage, 3 the key was not found or a
 * compare-and-set did not hold.
 */
@Command(name = "flotilla", mixinStandardHelpOptions = true, version = "flotilla 0.1.0",
        description = "Runs and talks to a Flotilla cluster, a Multi-Raft sharded key-value store.",
        footer = {"", "Also, run by tools/flotilla from the bench module (built when needed):",
                "  bench            Measures a cluster under load: ops/s, latency percentiles,",
                "                     errors by type, and per node the CPU per operation, log",
                "                     entries per fsync and messages per peer flush. Starts and",
                "                     stops a local 3-process cluster unless given --seeds.",
                "                     `tools/flotilla bench --help` lists its options."},
        subcommands = {DemoCommand.class, StartCommand.class, StopCommand.class, StatusCommand.class,
                KvCommands.Put.class, KvCommands.Get.class, KvCommands.Delete.class, KvCommands.Cas.class,
                KvCommands.Scan.class, SplitCommand.class, RangesCommand.class, TransferLeaderCommand.class, WhyCommand.class,
                MoveReplicaCommand.class, MovesCommand.class, DecommissionCommand.class, BalanceCommand.class,
                AddNodeCommand.class,
                MeasureStartupCommand.class,
                CommandLine.HelpCommand.class})
public final class FlotillaCli {
    static final int EXIT_FAILED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_NOT_FOUND = 3;

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs one command line and returns its exit code (for tests). */
    static int run(String... args) {
        CommandLine cli = new CommandLine(new FlotillaCli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("flotilla " + cmd.getCommandName() + ": " + describe(e));
            return EXIT_FAILED;
        });
        return cli.execute(args);
    }

    private static String describe(Throwable e) {
        while ((e instanceof java.util.concurrent.CompletionException
                || e instanceof java.util.concurrent.ExecutionException) && e.getCause() != null) {
            e = e.getCause();
        }
        String message = e.getMessage();
        return message == null ? e.toString() : message;
    }
}
