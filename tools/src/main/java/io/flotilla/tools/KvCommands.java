package io.flotilla.tools;

import io.flotilla.client.CasResult;
import io.flotilla.client.FlotillaClient;
import io.flotilla.client.ReadConsistency;
import io.flotilla.client.ScanEntry;
import io.flotilla.client.ScanResult;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The key-value commands: {@code put}, {@code get}, {@code delete}, {@code cas} and {@code scan}.
 * Keys and values are UTF-8 text on the command line; values print as text.
 */
final class KvCommands {
    private KvCommands() {
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** The bytes as text: UTF-8 when they are valid, printable UTF-8; otherwise with each unprintable byte as \\xNN. */
    static String text(byte[] b) {
        String decoded = new String(b, StandardCharsets.UTF_8);
        boolean printable = java.util.Arrays.equals(decoded.getBytes(StandardCharsets.UTF_8), b)
                && decoded.codePoints().noneMatch(c -> Character.isISOControl(c) && c != '\t');
        if (printable) {
            return decoded;
        }
        StringBuilder out = new StringBuilder(b.length * 2);
        for (byte x : b) {
            int c = x & 0xff;
            if (c >= 0x20 && c < 0x7f && c != '\\') {
                out.append((char) c);
            } else {
                out.append(String.format("\\x%02x", c));
            }
        }
        return out.toString();
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Writes a value at a key.")
    static final class Put implements Callable<Integer> {
        @Mixin
        ClusterOptions cluster;

        @Parameters(index = "0", description = "the key")
        String key;

        @Parameters(index = "1", description = "the value")
        String value;

        @Override
        public Integer call() throws Exception {
            try (FlotillaClient client = cluster.connect()) {
                client.sync().put(utf8(key), utf8(value));
            }
            System.out.println("OK");
            return 0;
        }
    }

    @Command(name = "get", mixinStandardHelpOptions = true,
            description = {"Reads the value at a key (exit code 3 if absent).",
                    "Linearizable by default; --consistency FOLLOWER reads any replica's applied state."})
    static final class Get implements Callable<Integer> {
        @Mixin
        ClusterOptions cluster;

        @Parameters(index = "0", description = "the key")
        String key;

        @Option(names = "--consistency", defaultValue = "LINEARIZABLE",
                description = "LINEARIZABLE, LEASE or FOLLOWER (default: ${DEFAULT-VALUE})")
        ReadConsistency consistency;

        @Override
        public Integer call() throws Exception {
            byte[] value;
            try (FlotillaClient client = cluster.connect()) {
                value = client.get(utf8(key), consistency).join();
            }
            if (value == null) {
                System.err.println("(not found)");
                return FlotillaCli.EXIT_NOT_FOUND;
            }
            System.out.println(text(value));
            return 0;
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true, description = "Deletes a key (exit code 3 if it was absent).")
    static final class Delete implements Callable<Integer> {
        @Mixin
        ClusterOptions cluster;

        @Parameters(index = "0", description = "the key")
        String key;

        @Override
        public Integer call() throws Exception {
            boolean existed;
            try (FlotillaClient client = cluster.connect()) {
                existed = client.delete(utf8(key)).join();
            }
            System.out.println(existed ? "deleted" : "(not found)");
            return existed ? 0 : FlotillaCli.EXIT_NOT_FOUND;
        }
    }

    @Command(name = "cas", mixinStandardHelpOptions = true,
            description = {"Writes a value only if the key holds an expected value (compare-and-set).",
                    "Writes NEW at KEY if its value is EXPECTED now, or with --absent if KEY does not exist.",
                    "Exit code 3 if the condition did not hold."})
    static final class Cas implements Callable<Integer> {
        @Mixin
        ClusterOptions cluster;

        @Parameters(index = "0", paramLabel = "KEY")
        String key;

        @Parameters(index = "1", paramLabel = "EXPECTED|NEW",
                description = "the expected value, then the new one (with --absent: only the new one)")
        String first;

        @Parameters(index = "2", paramLabel = "NEW", arity = "0..1")
        String second;

        @Option(names = "--absent", description = "expect the key not to exist")
        boolean absent;

        @Override
        public Integer call() throws Exception {
            if (absent == (second != null)) {
                System.err.println("flotilla cas: give KEY EXPECTED NEW, or --absent KEY NEW");
                return FlotillaCli.EXIT_USAGE;
            }
            byte[] expected = absent ? null : utf8(first);
            byte[] newValue = utf8(absent ? first : second);
            CasResult result;
            try (FlotillaClient client = cluster.connect()) {
                result = client.compareAndSet(utf8(key), expected, newValue).join();
            }
            if (result.succeeded()) {
                System.out.println("OK");
                return 0;
            }
            System.out.println("condition failed: current value is "
                    + (result.currentValue() == null ? "(absent)" : text(result.currentValue())));
            return FlotillaCli.EXIT_NOT_FOUND;
        }
    }

    @Command(name = "scan", mixinStandardHelpOptions = true,
            description = "Lists keys and values of [START, END) in key order, across ranges, up to --limit entries.")
    static final class Scan implements Callable<Integer> {
        @Mixin
        ClusterOptions cluster;

        @Parameters(index = "0", arity = "0..1", defaultValue = "", description = "first key (default: the start of the key space)")
        String start;

        @Parameters(index = "1", arity = "0..1", description = "end key, excluded (default: the end of the key space)")
        String end;

        @Option(names = "--limit", defaultValue = "100", description = "most entries to print (default: ${DEFAULT-VALUE})")
        int limit;

        @Option(names = "--keys-only", description = "print only the keys")
        boolean keysOnly;

        @Override
        public Integer call() throws Exception {
            int printed = 0;
            try (FlotillaClient client = cluster.connect()) {
                byte[] from = utf8(start);
                byte[] to = end == null ? null : utf8(end);
                while (from != null && printed < limit) {
                    ScanResult page = client.scan(from, to, limit - printed).join();
                    for (ScanEntry e : page.entries()) {
                        System.out.println(keysOnly ? text(e.key()) : text(e.key()) + "\t" + text(e.value()));
                        printed++;
                    }
                    from = page.continuation();
                }
                if (from != null) {
                    System.err.printf("(stopped at --limit %d; more keys follow from %s)%n", limit, text(from));
                }
            }
            return 0;
        }
    }
}
