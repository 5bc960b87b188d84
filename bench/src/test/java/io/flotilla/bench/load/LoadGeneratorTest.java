package io.flotilla.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.imageio.ImageIO;
import org.HdrHistogram.EncodableHistogram;
import org.HdrHistogram.HistogramLogReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code flotilla bench} end to end: a local cluster of three real node processes, a few seconds of
 * a closed-loop mixed workload, and what a user reads afterwards: the last line, the per-node table,
 * the HdrHistogram log and the plot. Asserts nothing about speed.
 */
class LoadGeneratorTest {
    private static final Pattern LAST_LINE =
            Pattern.compile("bench: (\\d+) ops/s, p50 (\\d+\\.\\d{3}) ms, p99 (\\d+\\.\\d{3}) ms, (\\d+) errors");

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void aShortClosedLoopRunAgainstALocalClusterReportsOpsNodeCostsAnHlogAndAPlot() throws Exception {
        Path hlog = dir.resolve("run.hlog");
        Path plot = dir.resolve("run.png");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        int exit = LoadGenerator.run(out, "--data-dir", dir.resolve("cluster").toString(), "--ranges", "4",
                "--inflight", "16", "--warmup", "1", "--seconds", "3", "--keys", "10000", "--read-ratio", "0.3",
                "--cas-ratio", "0.1", "--hlog", hlog.toString(), "--plot", plot.toString());
        String output = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(output);

        assertThat(exit).as("exit code").isZero();
        List<String> lines = output.lines().toList();
        Matcher last = LAST_LINE.matcher(lines.get(lines.size() - 1));
        assertThat(last.matches()).as("the last line: " + lines.get(lines.size() - 1)).isTrue();
        assertThat(Long.parseLong(last.group(1))).as("ops/s").isPositive();
        assertThat(Double.parseDouble(last.group(3))).as("p99 >= p50")
                .isGreaterThanOrEqualTo(Double.parseDouble(last.group(2)));

        List<String[]> nodes = nodeRows(lines);
        assertThat(nodes).as("a row for each of the three nodes").hasSize(3);
        for (String[] row : nodes) {
            // node, address, cpu s, cpu µs/op, cores, fsyncs, entries/fsync, peer flushes, msgs/flush, requests, threads
            assertThat(Double.parseDouble(row[3])).as("cpu µs/op of node " + row[0]).isPositive();
            assertThat(Long.parseLong(row[5])).as("fsyncs of node " + row[0]).isPositive();
            assertThat(Double.parseDouble(row[6])).as("entries/fsync of node " + row[0]).isGreaterThanOrEqualTo(1);
            assertThat(Long.parseLong(row[7])).as("peer flushes of node " + row[0]).isPositive();
            assertThat(Double.parseDouble(row[8])).as("msgs/flush of node " + row[0]).isGreaterThanOrEqualTo(1);
            assertThat(Integer.parseInt(row[10])).as("threads of node " + row[0]).isPositive();
        }

        long hlogOps = 0;
        int intervals = 0;
        HistogramLogReader reader = new HistogramLogReader(hlog.toFile());
        for (EncodableHistogram h = reader.nextIntervalHistogram(); h != null; h = reader.nextIntervalHistogram()) {
            if (h.getTag() == null) {
                hlogOps += ((org.HdrHistogram.Histogram) h).getTotalCount();
                intervals++;
            }
        }
        assertThat(intervals).as("one untagged interval per measured second").isEqualTo(3);
        assertThat(hlogOps).as("operations in the hlog, as in the table's all row").isEqualTo(allOps(lines));

        assertThat(ImageIO.read(plot.toFile())).as("the plot is a PNG that ImageIO reads").isNotNull();
        assertThat(Files.size(plot)).isGreaterThan(20_000);
        assertThat(Files.exists(dir.resolve("cluster").resolve("cluster.properties"))).as("a given data dir is kept").isTrue();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void withJfrEachNodesRecordingIsDumpedAndSummarisedBeforeTheLastLine() throws Exception {
        Path jfr = dir.resolve("jfr");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

        int exit = LoadGenerator.run(out, "--ranges", "2", "--inflight", "8", "--warmup", "1", "--seconds", "2",
                "--keys", "1000", "--jfr", jfr.toString());
        String output = bytes.toString(StandardCharsets.UTF_8);
        System.out.print(output);

        assertThat(exit).as("exit code").isZero();
        List<String> lines = output.lines().toList();
        assertThat(LAST_LINE.matcher(lines.get(lines.size() - 1)).matches()).as("the last line stays the bench line").isTrue();
        int summary = lines.indexOf(lines.stream().filter(l -> l.startsWith("where the time goes")).findFirst().orElse("?"));
        assertThat(summary).as("the summary comes after the node table").isGreaterThan(lines.indexOf(
                lines.stream().filter(l -> l.startsWith("node  address")).findFirst().orElse("?")));
        for (int i = 1; i <= 3; i++) {
            assertThat(jfr.resolve("node-" + i + ".jfr")).as("node " + i + "'s recording").isNotEmptyFile();
            assertThat(output).contains("node " + i + ": node-" + i + ".jfr: ");
        }
        String report = Files.readString(jfr.resolve("profile.txt"));
        assertThat(report).contains("node 3: node-3.jfr: ", "thread group", "allocation by class");
    }

    @Test
    void jfrIsRefusedWithSeedsBeforeAnythingIsSent() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        PrintStream err = System.err;
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = LoadGenerator.run(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
                    "--seeds", "127.0.0.1:1", "--cluster-id", "7", "--jfr", dir.toString());
        } finally {
            System.setErr(err);
        }
        assertThat(exit).isEqualTo(LoadGenerator.EXIT_FAILED);
        assertThat(bytes.toString(StandardCharsets.UTF_8)).contains("--jfr works with the local cluster only");
    }

    /** The node rows of the per-node table: the lines after its rule that start with a node id. */
    private static List<String[]> nodeRows(List<String> lines) {
        List<String[]> rows = new ArrayList<>();
        boolean inTable = false;
        for (String line : lines) {
            if (line.startsWith("node  address")) {
                inTable = true;
            } else if (inTable && line.matches("\\d+\\s+127\\.0\\.0\\.1:\\d+\\s.*")) {
                rows.add(line.trim().split("\\s+"));
            } else if (inTable && line.startsWith("all")) {
                break;
            }
        }
        return rows;
    }

    /** The ops column of the latency table's "all" row. */
    private static long allOps(List<String> lines) {
        for (String line : lines) {
            if (line.startsWith("all ") && !line.contains("127.0.0.1")) {
                return Long.parseLong(line.trim().split("\\s+")[1]);
            }
        }
        throw new AssertionError("no 'all' row in the latency table");
    }
}
