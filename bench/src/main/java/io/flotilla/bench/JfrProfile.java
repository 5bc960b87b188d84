package io.flotilla.bench;

import io.flotilla.tools.Table;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.regex.Pattern;
import jdk.jfr.consumer.RecordedClass;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordedThread;
import jdk.jfr.consumer.RecordingFile;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Where a JVM's time and allocation went in a window of a flight recording (a {@code .jfr} file),
 * read with the JDK's {@code jdk.jfr.consumer} API: CPU samples per thread group (thread names with
 * their digits collapsed, {@code flotilla-worker-N-N}), the top methods by self and by total samples,
 * the top allocation sites, and, given the operations completed in the window, each of them per
 * operation. Immutable once read; {@link #main} summarises a file ({@code bench/run --main JfrProfile FILE}).
 *
 * <p>Per operation: a thread group's CPU comes from {@code jdk.ThreadCPULoad} (each thread's user and
 * system load between two events, over the part of the window they cover); a method's CPU is its
 * share of its group's execution samples times the group's CPU. Execution samples see Java code only:
 * a group's CPU in native code (RocksDB through JNI, the kernel's side of a write) is spread over its
 * Java frames, so compare a frame's µs/op with others rather than read it as exact. Without thread
 * loads the process's ({@code jdk.CPULoad}, which includes GC and the JIT compilers) is spread over all
 * samples; without either, only shares are shown.
 */
public final class JfrProfile {
    /** Package prefix of the project's frames; left off in the report. */
    static final String PROJECT = "io.flotilla.";
    /** Below this many execution samples a report warns that its shares are rough. */
    private static final int FEW_SAMPLES = 200;
    private static final Pattern LAMBDA = Pattern.compile("\\$\\$Lambda\\$\\d+(?:[+/]0x[0-9a-f]+)?(?:\\.\\d+)?");

    /** A window of a recording: all of it, its last seconds, or between two instants. */
    public record Window(Instant from, Instant to, Duration last) {
        public static Window all() {
            return new Window(null, null, null);
        }

        public static Window last(Duration last) {
            return new Window(null, null, last);
        }

        public static Window between(Instant from, Instant to) {
            return new Window(from, to, null);
        }

        /** The window's bounds in a recording that runs from {@code start} to {@code end}. */
        Instant[] resolve(Instant start, Instant end) {
            if (last != null) {
                Instant from = end.minus(last);
                return new Instant[] {from.isBefore(start) ? start : from, end};
            }
            return new Instant[] {from == null || from.isBefore(start) ? start : from, to == null || to.isAfter(end) ? end : to};
        }
    }

    /** One execution (or native method) sample: its thread group and stack, top frame first. */
    private record Sample(Instant time, String group, List<String> frames) {
    }

    private record Allocation(Instant time, String objectClass, String site, long bytes) {
    }

    /** A CPU load event: the share of the machine's CPU used since the previous event of the same thread (or process). */
    private record Load(Instant time, double share) {
    }

    /** What the report's first line calls it: the file's name, or what a merged profile covers. */
    private final String name;
    private final Instant from;
    private final Instant to;
    private final List<Sample> javaSamples;
    private final List<Sample> nativeSamples;
    private final List<Allocation> allocations;
    /** Per thread group: its threads' CPU seconds in the window, from jdk.ThreadCPULoad (absent: no events). */
    private final Map<String, Double> groupCpuSeconds;
    /** The process's CPU seconds in the window from jdk.CPULoad, or NaN. */
    private final double processCpuSeconds;
    private final int truncatedStacks;

    private JfrProfile(String name, Instant from, Instant to, List<Sample> javaSamples, List<Sample> nativeSamples,
            List<Allocation> allocations, Map<String, Double> groupCpuSeconds, double processCpuSeconds, int truncatedStacks) {
        this.name = name;
        this.from = from;
        this.to = to;
        this.javaSamples = javaSamples;
        this.nativeSamples = nativeSamples;
        this.allocations = allocations;
        this.groupCpuSeconds = groupCpuSeconds;
        this.processCpuSeconds = processCpuSeconds;
        this.truncatedStacks = truncatedStacks;
    }

    /** Reads the recording {@code file} and keeps what falls in {@code window}. */
    public static JfrProfile read(Path file, Window window) throws IOException {
        List<Sample> java = new ArrayList<>();
        List<Sample> nativeSamples = new ArrayList<>();
        List<Allocation> allocations = new ArrayList<>();
        Map<Long, List<Load>> threadLoads = new HashMap<>();
        Map<Long, String> threadGroups = new HashMap<>();
        List<Load> processLoads = new ArrayList<>();
        Instant start = Instant.MAX;
        Instant end = Instant.MIN;
        int hwThreads = 0;
        int truncated = 0;
        try (RecordingFile recording = new RecordingFile(file)) {
            while (recording.hasMoreEvents()) {
                RecordedEvent e = recording.readEvent();
                start = min(start, e.getStartTime());
                end = max(end, e.getEndTime());
                switch (e.getEventType().getName()) {
                    case "jdk.ExecutionSample", "jdk.NativeMethodSample" -> {
                        RecordedStackTrace stack = e.getStackTrace();
                        if (stack == null) {
                            continue;
                        }
                        truncated += stack.isTruncated() ? 1 : 0;
                        Sample s = new Sample(e.getStartTime(), group(e.getThread("sampledThread")), frames(stack));
                        (e.getEventType().getName().equals("jdk.ExecutionSample") ? java : nativeSamples).add(s);
                    }
                    case "jdk.ObjectAllocationSample" -> {
                        RecordedClass type = e.getClass("objectClass");
                        List<String> frames = e.getStackTrace() == null ? List.of() : frames(e.getStackTrace());
                        allocations.add(new Allocation(e.getStartTime(), type == null ? "?" : className(type.getName()),
                                site(frames), e.getLong("weight")));
                    }
                    case "jdk.ThreadCPULoad" -> {
                        RecordedThread t = e.getThread();
                        if (t != null) {
                            threadLoads.computeIfAbsent(t.getId(), id -> new ArrayList<>())
                                    .add(new Load(e.getStartTime(), e.getFloat("user") + e.getFloat("system")));
                            threadGroups.put(t.getId(), group(t));
                        }
                    }
                    case "jdk.CPULoad" -> processLoads.add(new Load(e.getStartTime(), e.getFloat("jvmUser") + e.getFloat("jvmSystem")));
                    case "jdk.CPUInformation" -> hwThreads = e.getInt("hwThreads");
                    default -> { }
                }
            }
        }
        if (start.equals(Instant.MAX)) {
            throw new IOException(file + " holds no events");
        }
        Instant[] bounds = window.resolve(start, end);
        Instant from = bounds[0];
        Instant to = bounds[1];
        // Loads are shares of all the machine's hardware threads (as the JVM that recorded counted them).
        int cpus = hwThreads > 0 ? hwThreads : Runtime.getRuntime().availableProcessors();
        Map<String, Double> groupCpu = new TreeMap<>();
        double covered = 0;
        for (Map.Entry<Long, List<Load>> t : threadLoads.entrySet()) {
            double[] cpu = cpuSeconds(t.getValue(), from, to, cpus);
            groupCpu.merge(threadGroups.get(t.getKey()), cpu[0], Double::sum);
            covered = Math.max(covered, cpu[1]);
        }
        // Thread loads come once a period: the window's last part (after the last event) has none yet.
        // Scale every group alike by how much of the window the best-covered thread had.
        double windowSeconds = seconds(from, to);
        if (covered > 0) {
            double scale = windowSeconds / covered;
            groupCpu.replaceAll((g, s) -> s * scale);
        } else {
            groupCpu.clear();
        }
        double[] process = cpuSeconds(processLoads, from, to, cpus);
        double processCpu = process[1] > 0 ? process[0] * windowSeconds / process[1] : Double.NaN;
        return new JfrProfile(file.getFileName().toString(), from, to, inWindow(java, Sample::time, from, to), inWindow(nativeSamples, Sample::time, from, to),
                inWindow(allocations, Allocation::time, from, to), groupCpu, processCpu, truncated);
    }

    /**
     * Several JVMs' profiles of the same window as one (the nodes of a cluster together): their samples,
     * allocations and CPU added up, per thread group.
     */
    public static JfrProfile merge(String name, List<JfrProfile> profiles) {
        List<Sample> java = new ArrayList<>();
        List<Sample> nativeSamples = new ArrayList<>();
        List<Allocation> allocations = new ArrayList<>();
        Map<String, Double> groupCpu = new TreeMap<>();
        double processCpu = 0;
        int truncated = 0;
        Instant from = Instant.MAX;
        Instant to = Instant.MIN;
        for (JfrProfile p : profiles) {
            java.addAll(p.javaSamples);
            nativeSamples.addAll(p.nativeSamples);
            allocations.addAll(p.allocations);
            p.groupCpuSeconds.forEach((g, s) -> groupCpu.merge(g, s, Double::sum));
            processCpu += p.processCpuSeconds; // NaN if any JVM's is unknown
            truncated += p.truncatedStacks;
            from = min(from, p.from);
            to = max(to, p.to);
        }
        return new JfrProfile(name, from, to, java, nativeSamples, allocations, groupCpu, processCpu, truncated);
    }

    /**
     * CPU seconds of one thread (or the process) between {@code from} and {@code to}, and the seconds of
     * that window its events cover: each event holds the load since the one before it.
     */
    private static double[] cpuSeconds(List<Load> loads, Instant from, Instant to, int cpus) {
        loads.sort(Comparator.comparing(Load::time));
        double cpu = 0;
        double covered = 0;
        for (int i = 1; i < loads.size(); i++) {
            Instant a = max(loads.get(i - 1).time(), from);
            Instant b = min(loads.get(i).time(), to);
            if (a.isBefore(b)) {
                double s = seconds(a, b);
                cpu += loads.get(i).share() * cpus * s;
                covered += s;
            }
        }
        return new double[] {cpu, covered};
    }

    private static <T> List<T> inWindow(List<T> events, Function<T, Instant> time, Instant from, Instant to) {
        return events.stream().filter(e -> !time.apply(e).isBefore(from) && !time.apply(e).isAfter(to)).toList();
    }

    /** A thread's group: its name with every run of digits replaced by N. */
    static String group(RecordedThread t) {
        if (t == null) {
            return "?";
        }
        String name = t.getJavaName() != null ? t.getJavaName() : t.getOSName();
        return name == null ? "?" : name.replaceAll("\\d+", "N");
    }

    private static List<String> frames(RecordedStackTrace stack) {
        List<String> frames = new ArrayList<>(stack.getFrames().size());
        for (RecordedFrame f : stack.getFrames()) {
            if (f.getMethod() != null) {
                frames.add(className(f.getMethod().getType().getName()) + "." + f.getMethod().getName());
            }
        }
        return frames;
    }

    /**
     * A class name as a reader writes it: {@code byte[]} for {@code [B}, and a lambda's hidden class
     * ({@code Foo$$Lambda$646+0x00007f91ec12ad40.790021811}) as {@code Foo$$Lambda}, so that one lambda
     * is one row in every JVM.
     */
    static String className(String name) {
        int dims = 0;
        while (dims < name.length() && name.charAt(dims) == '[') {
            dims++;
        }
        if (dims > 0) {
            String element = name.substring(dims);
            String base = switch (element) {
                case "Z" -> "boolean";
                case "B" -> "byte";
                case "C" -> "char";
                case "S" -> "short";
                case "I" -> "int";
                case "J" -> "long";
                case "F" -> "float";
                case "D" -> "double";
                default -> element.startsWith("L") && element.endsWith(";") ? element.substring(1, element.length() - 1) : element;
            };
            return base + "[]".repeat(dims);
        }
        return LAMBDA.matcher(name).replaceAll("\\$\\$Lambda");
    }

    /** The first project frame of a stack (top first), else its top frame. */
    private static String site(List<String> frames) {
        for (String f : frames) {
            if (f.startsWith(PROJECT)) {
                return f;
            }
        }
        return frames.isEmpty() ? "?" : frames.get(0);
    }

    public double windowSeconds() {
        return seconds(from, to);
    }

    /** Execution samples in the window whose stack holds {@code method} ({@code Class.method}, binary class name). */
    public long samplesIn(String method) {
        return javaSamples.stream().filter(s -> s.frames().contains(method)).count();
    }

    /** Execution samples in the window per thread group. */
    public Map<String, Long> samplesByGroup() {
        Map<String, Long> byGroup = new TreeMap<>();
        javaSamples.forEach(s -> byGroup.merge(s.group(), 1L, Long::sum));
        return byGroup;
    }

    /** How many rows of each table a report shows. */
    public record Rows(int groups, int projectTotal, int allTotal, int self, int nativeSelf, int allocations) {
        /** What the load generator prints per node. */
        public static final Rows COMPACT = new Rows(0, 12, 0, 8, 0, 8);
        public static final Rows FULL = new Rows(30, 25, 25, 25, 12, 25);
    }

    /**
     * The report: a header, then tables of {@code rows}; per operation if {@code ops > 0} (operations
     * completed in the window).
     */
    public String report(long ops, Rows rows) {
        double[] weights = sampleWeights();
        StringBuilder out = new StringBuilder();
        out.append(String.format("%s: %.1f s from %s to %s, %,d execution samples (Java code)%s%n", name,
                windowSeconds(), from, to, javaSamples.size(), ops > 0 ? String.format(", %,d operations", ops) : ""));
        out.append("  ").append(cpuLine(ops)).append('\n');
        if (truncatedStacks > 0) {
            out.append(String.format("  stacks deeper than the recording's stackdepth, truncated: %,d (totals of outer frames are low)%n",
                    truncatedStacks));
        }
        if (javaSamples.isEmpty()) {
            out.append("  no execution samples in the window: was the recording made with jdk.ExecutionSample enabled?\n");
        } else if (javaSamples.size() < FEW_SAMPLES) {
            out.append(String.format("  only %d execution samples: shares move by several points from run to run;"
                    + " measure longer for figures that hold%n", javaSamples.size()));
        }
        boolean perOp = ops > 0 && weights != null;
        groupsTable(out, rows.groups(), ops);
        if (rows.projectTotal() > 0) {
            out.append("\nmethods of io.flotilla by total samples (the method and what it calls), io.flotilla. left off:\n");
            out.append(frameTable(countTotal(true, weights), rows.projectTotal(), ops, perOp, null));
        }
        if (rows.allTotal() > 0) {
            out.append("\nall methods by total samples:\n");
            out.append(frameTable(countTotal(false, weights), rows.allTotal(), ops, perOp, null));
        }
        if (rows.self() > 0) {
            out.append("\nmethods by self samples (the top frame), with the first io.flotilla method under it:\n");
            Map<String, String> callers = new HashMap<>();
            out.append(frameTable(countSelf(javaSamples, weights, callers), rows.self(), ops, perOp, callers));
        }
        if (rows.nativeSelf() > 0 && !nativeSamples.isEmpty()) {
            out.append(String.format("%nthreads in native methods (%,d samples; waiting or running, not CPU):%n", nativeSamples.size()));
            Map<String, String> callers = new HashMap<>();
            out.append(frameTable(countSelf(nativeSamples, null, callers), rows.nativeSelf(), ops, false, callers));
        }
        if (rows.allocations() > 0) {
            allocationTable(out, rows.allocations(), ops);
        }
        return out.toString();
    }

    private String cpuLine(long ops) {
        double groups = groupCpuSeconds.values().stream().mapToDouble(Double::doubleValue).sum();
        String process = Double.isNaN(processCpuSeconds) ? "process CPU unknown (no jdk.CPULoad)"
                : String.format("process CPU %.2f s%s (jdk.CPULoad)", processCpuSeconds, perOp(processCpuSeconds, ops));
        String threads = groupCpuSeconds.isEmpty() ? "no jdk.ThreadCPULoad in the window"
                : String.format("threads %.2f s%s (jdk.ThreadCPULoad)", groups, perOp(groups, ops));
        String spread = !groupCpuSeconds.isEmpty() ? "methods: their group's CPU spread over its samples"
                : !Double.isNaN(processCpuSeconds) ? "methods: the process's CPU (GC, JIT included) spread over all samples"
                : "methods: shares of samples only";
        return process + "; " + threads + "; " + spread;
    }

    private static String perOp(double cpuSeconds, long ops) {
        return ops > 0 ? String.format(" = %.1f µs/op", cpuSeconds * 1e6 / ops) : "";
    }

    /** CPU µs each execution sample stands for, index by index, or null if the recording has no CPU figures. */
    private double[] sampleWeights() {
        Map<String, Long> byGroup = samplesByGroup();
        double[] w = new double[javaSamples.size()];
        for (int i = 0; i < w.length; i++) {
            String g = javaSamples.get(i).group();
            if (!groupCpuSeconds.isEmpty()) {
                w[i] = groupCpuSeconds.getOrDefault(g, 0.0) * 1e6 / byGroup.get(g);
            } else if (!Double.isNaN(processCpuSeconds)) {
                w[i] = processCpuSeconds * 1e6 / javaSamples.size();
            } else {
                return null;
            }
        }
        return w;
    }

    private void groupsTable(StringBuilder out, int rows, long ops) {
        Map<String, Long> samples = samplesByGroup();
        Set<String> groups = new LinkedHashSet<>();
        samples.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(e -> groups.add(e.getKey()));
        groupCpuSeconds.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed())
                .forEach(e -> groups.add(e.getKey()));
        if (rows == 0) {
            // One line: the busiest groups by CPU where known (the JIT compilers' too: they have no samples), else by samples.
            List<String> parts = new ArrayList<>();
            Map<String, Double> busiest = groupCpuSeconds.isEmpty() ? new HashMap<>() : groupCpuSeconds;
            if (busiest.isEmpty()) {
                samples.forEach((g, n) -> busiest.put(g, (double) n));
            }
            busiest.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(5).forEach(e -> {
                String share = String.format("%.0f%% of samples", 100.0 * samples.getOrDefault(e.getKey(), 0L)
                        / Math.max(1, javaSamples.size()));
                parts.add(groupCpuSeconds.isEmpty() || ops <= 0 ? e.getKey() + " " + share
                        : String.format("%s %.1f µs/op (%s)", e.getKey(), e.getValue() * 1e6 / ops, share));
            });
            out.append("  thread groups: ").append(String.join(", ", parts)).append('\n');
            return;
        }
        Table t = new Table("thread group", "samples", "share", "cpu s", ops > 0 ? "cpu µs/op" : "cores");
        int n = 0;
        for (String g : groups) {
            if (n++ == rows) {
                break;
            }
            long s = samples.getOrDefault(g, 0L);
            Double cpu = groupCpuSeconds.get(g);
            t.row(g, String.format("%,d", s), percent(s, javaSamples.size()), cpu == null ? "-" : String.format("%.2f", cpu),
                    cpu == null ? "-" : ops > 0 ? String.format("%.2f", cpu * 1e6 / ops) : String.format("%.2f", cpu / windowSeconds()));
        }
        out.append('\n').append(t.render());
    }

    /** Samples and CPU µs of one method. */
    private static final class Tally {
        long samples;
        double cpuUs;
    }

    private Map<String, Tally> countTotal(boolean projectOnly, double[] weights) {
        Map<String, Tally> tallies = new HashMap<>();
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < javaSamples.size(); i++) {
            seen.clear();
            for (String f : javaSamples.get(i).frames()) {
                if ((!projectOnly || f.startsWith(PROJECT)) && seen.add(f)) { // recursion counts once
                    Tally t = tallies.computeIfAbsent(f, k -> new Tally());
                    t.samples++;
                    t.cpuUs += weights == null ? 0 : weights[i];
                }
            }
        }
        return tallies;
    }

    private static Map<String, Tally> countSelf(List<Sample> samples, double[] weights, Map<String, String> callers) {
        Map<String, Tally> tallies = new HashMap<>();
        Map<String, Map<String, Long>> callerCounts = new HashMap<>();
        for (int i = 0; i < samples.size(); i++) {
            List<String> frames = samples.get(i).frames();
            if (frames.isEmpty()) {
                continue;
            }
            Tally t = tallies.computeIfAbsent(frames.get(0), k -> new Tally());
            t.samples++;
            t.cpuUs += weights == null ? 0 : weights[i];
            callerCounts.computeIfAbsent(frames.get(0), k -> new HashMap<>()).merge(site(frames), 1L, Long::sum);
        }
        // The most frequent project method under each top frame (a top frame in the project is its own).
        callerCounts.forEach((frame, counts) -> callers.put(frame,
                counts.entrySet().stream().max(Map.Entry.comparingByValue()).map(Map.Entry::getKey).orElse("")));
        return tallies;
    }

    private String frameTable(Map<String, Tally> tallies, int rows, long ops, boolean perOp, Map<String, String> callers) {
        if (tallies.isEmpty()) {
            return "  (no samples)\n";
        }
        // Shares of all samples: a total table's rows overlap, a self table's add up to its samples.
        long total = callers == null ? javaSamples.size() : tallies.values().stream().mapToLong(t -> t.samples).sum();
        List<String> header = new ArrayList<>(List.of("samples", "share"));
        if (perOp) {
            header.add("µs/op");
        }
        header.add("method");
        if (callers != null) {
            header.add("first io.flotilla method");
        }
        Table t = new Table(header.toArray(String[]::new));
        tallies.entrySet().stream().sorted(Comparator.comparingLong((Map.Entry<String, Tally> e) -> e.getValue().samples).reversed()
                .thenComparing(Map.Entry::getKey)).limit(rows).forEach(e -> {
                    List<String> row = new ArrayList<>(List.of(String.format("%,d", e.getValue().samples), percent(e.getValue().samples, total)));
                    if (perOp) {
                        row.add(String.format("%.2f", e.getValue().cpuUs / ops));
                    }
                    row.add(shorten(e.getKey()));
                    if (callers != null) {
                        String caller = callers.getOrDefault(e.getKey(), "");
                        row.add(caller.equals(e.getKey()) || !caller.startsWith(PROJECT) ? "" : shorten(caller));
                    }
                    t.row(row.toArray(String[]::new));
                });
        return t.render();
    }

    private void allocationTable(StringBuilder out, int rows, long ops) {
        Map<String, long[]> bySite = new HashMap<>();
        long all = 0;
        for (Allocation a : allocations) {
            bySite.computeIfAbsent(a.objectClass() + "\u0000" + a.site(), k -> new long[1])[0] += a.bytes();
            all += a.bytes();
        }
        out.append(String.format("%nallocation by class and first io.flotilla method (jdk.ObjectAllocationSample weight),"
                + " %,.1f MB in the window%s:%n", all / 1e6, ops > 0 ? String.format(" = %,.0f B/op", all / (double) ops) : ""));
        if (allocations.isEmpty()) {
            out.append("  (no samples)\n");
            return;
        }
        Table t = new Table("MB", "share", ops > 0 ? "B/op" : "MB/s", "class", "site");
        long total = all;
        bySite.entrySet().stream().sorted(Comparator.comparingLong((Map.Entry<String, long[]> e) -> e.getValue()[0]).reversed())
                .limit(rows).forEach(e -> {
                    String[] key = e.getKey().split("\u0000", 2);
                    long bytes = e.getValue()[0];
                    t.row(String.format("%.1f", bytes / 1e6), percent(bytes, total),
                            ops > 0 ? String.format("%.1f", bytes / (double) ops) : String.format("%.1f", bytes / 1e6 / windowSeconds()),
                            shorten(key[0]), shorten(key[1]));
                });
        out.append(t.render());
    }

    private static String shorten(String name) {
        return name.startsWith(PROJECT) ? name.substring(PROJECT.length()) : name;
    }

    private static String percent(long part, long whole) {
        return whole > 0 ? String.format("%.1f%%", 100.0 * part / whole) : "-";
    }

    private static double seconds(Instant a, Instant b) {
        return Duration.between(a, b).toNanos() / 1e9;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static Instant max(Instant a, Instant b) {
        return a.isAfter(b) ? a : b;
    }

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Cli());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("JfrProfile: " + (e.getMessage() == null ? e.toString() : e.getMessage()));
            return 1;
        });
        System.exit(cli.execute(args));
    }

    /** The command line of {@link #main}; runs on the main thread. */
    @Command(name = "bench/run --main JfrProfile", mixinStandardHelpOptions = true, sortOptions = false, usageHelpWidth = 110,
            description = {"Summarises a flight recording (.jfr): CPU samples per thread group, the top methods by total and",
                    "self samples, the top allocation sites; per operation with --ops (the operations completed in the window)."})
    static final class Cli implements Callable<Integer> {
        @Parameters(arity = "1..*", paramLabel = "FILE",
                description = "a .jfr file (flotilla bench --jfr DIR writes DIR/node-<i>.jfr); several: all together, then each")
        List<Path> files;

        @Option(names = "--last", paramLabel = "SECONDS", description = "only the recording's last SECONDS")
        Double lastSeconds;

        @Option(names = "--from", paramLabel = "INSTANT", description = "only from this instant, e.g. 2026-01-02T13:00:05Z")
        String from;

        @Option(names = "--to", paramLabel = "INSTANT", description = "only up to this instant")
        String to;

        @Option(names = "--ops", paramLabel = "N", defaultValue = "0",
                description = "operations completed in the window: show CPU µs and bytes per operation")
        long ops;

        @Option(names = "--top", paramLabel = "N", defaultValue = "25", description = "rows per table (default: ${DEFAULT-VALUE})")
        int top;

        @Override
        public Integer call() throws IOException {
            Window window;
            try {
                if (lastSeconds != null && (from != null || to != null)) {
                    throw new IllegalArgumentException("--last and --from/--to do not go together: give one or the other");
                }
                window = lastSeconds != null ? Window.last(Duration.ofNanos((long) (lastSeconds * 1e9)))
                        : Window.between(from == null ? null : Instant.parse(from), to == null ? null : Instant.parse(to));
            } catch (DateTimeParseException e) {
                throw new IllegalArgumentException("--from and --to take instants like 2026-01-02T13:00:05Z, not " + e.getParsedString());
            }
            Rows rows = new Rows(top, top, top, top, Math.min(top, 12), top);
            PrintWriter out = new PrintWriter(System.out, true);
            List<JfrProfile> profiles = new ArrayList<>();
            for (Path file : files) {
                profiles.add(read(file, window));
            }
            if (profiles.size() > 1) {
                out.println(merge("all " + profiles.size() + " files", profiles).report(ops, rows));
            }
            for (JfrProfile p : profiles) {
                out.println(p.report(ops, rows));
            }
            out.flush();
            return 0;
        }
    }
}
