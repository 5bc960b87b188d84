package io.flotilla.bench.load;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Map;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramLogWriter;

/**
 * The load generator's {@code --hlog}: an HdrHistogram log (readable by {@code HistogramLogReader},
 * {@code HistogramLogProcessor} and HistogramLogAnalyzer) with one interval histogram per second of
 * the measured run: an untagged one of all operations and one tagged with each operation kind
 * ({@code get}, {@code put}, {@code cas}, {@code scan}) that ran. Values are nanoseconds (the
 * "Max" column shows milliseconds). Owned by the reporting thread.
 */
final class HlogFile implements AutoCloseable {
    private final PrintStream file;
    private final HistogramLogWriter writer;

    HlogFile(Path path, long startMs, String description) throws FileNotFoundException {
        this.file = new PrintStream(path.toFile());
        this.writer = new HistogramLogWriter(file);
        writer.outputComment("flotilla bench: " + description + "; latency in nanoseconds");
        writer.outputLogFormatVersion();
        writer.setBaseTime(startMs);
        writer.outputStartTime(startMs);
        writer.outputLegend();
    }

    /** One second of the run: every kind that completed something in it, tagged, then all of them untagged. */
    void interval(Map<OpKind, Histogram> sample, Histogram all) {
        for (Map.Entry<OpKind, Histogram> e : sample.entrySet()) {
            Histogram h = e.getValue();
            if (h.getTotalCount() > 0) {
                h.setTag(e.getKey().label);
                writer.outputIntervalHistogram(h);
                h.setTag(null);
            }
        }
        writer.outputIntervalHistogram(all);
    }

    /** Closes the file; throws if any write to it failed (a PrintStream keeps its errors until asked). */
    @Override
    public void close() throws IOException {
        file.close();
        if (file.checkError()) {
            throw new IOException("writing the HdrHistogram log failed (disk full, or the file was removed?)");
        }
    }
}
