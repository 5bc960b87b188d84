package io.flotilla.bench.load;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LatencyPlotTest {
    @TempDir
    Path dir;

    /** Latencies of about 1 ms with a tail to about 50 ms, in nanoseconds. */
    private static Histogram latencies(long seed, int count) {
        Histogram h = new Histogram(3);
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) {
            double tail = random.nextDouble() < 0.01 ? 50 * random.nextDouble() : 0;
            h.recordValue((long) ((0.5 + random.nextDouble() + tail) * 1e6));
        }
        return h;
    }

    private static Map<String, Histogram> curves() {
        Map<String, Histogram> curves = new LinkedHashMap<>();
        curves.put("get", latencies(1, 20_000));
        curves.put("put", latencies(2, 30_000));
        Histogram all = new Histogram(3);
        curves.values().forEach(all::add);
        curves.put("all", all);
        curves.put("scan", new Histogram(3)); // a kind that never ran: left out, not drawn empty
        return curves;
    }

    @Test
    void writesAPngThatImageIoReadsWithTheChartsOnIt() throws Exception {
        Path png = dir.resolve("run.png");
        LatencyPlot.write(png, curves(), List.of(900L, 1000L, 1100L, 950L), "test run");
        String keep = System.getProperty("plot.keep"); // -Dplot.keep=FILE: a copy for a person to look at
        if (keep != null) {
            Files.copy(png, Path.of(keep), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }

        BufferedImage image = ImageIO.read(png.toFile());
        assertThat(image).as("ImageIO reads " + png).isNotNull();
        assertThat(image.getWidth()).isEqualTo(LatencyPlot.WIDTH);
        assertThat(image.getHeight()).isEqualTo(LatencyPlot.HEIGHT);
        assertThat(Files.size(png)).as("bytes of a PNG with two charts on it").isGreaterThan(20_000);
        // Something was drawn: a blank white image would have one colour.
        assertThat(distinctColours(image)).isGreaterThan(10);
    }

    @Test
    void writesAnSvgWhenTheNameEndsInSvg() throws Exception {
        Path svg = dir.resolve("run.svg");
        LatencyPlot.write(svg, curves(), List.of(900L, 1000L), "test run");

        String text = Files.readString(svg);
        assertThat(text).as("an SVG document").contains("<svg").endsWith("</svg>\n");
        assertThat(text).as("its title is text").contains(">latency by percentile</text>");
    }

    @Test
    void percentileLabelsNameTheTailOfEachDecade() {
        LatencyPlot.PercentileFormat f = new LatencyPlot.PercentileFormat();
        assertThat(f.format(1.0)).isEqualTo("0%");
        assertThat(f.format(10.0)).isEqualTo("90%");
        assertThat(f.format(100.0)).isEqualTo("99%");
        assertThat(f.format(10_000.0)).isEqualTo("99.99%");
    }

    private static int distinctColours(BufferedImage image) {
        java.util.Set<Integer> colours = new java.util.HashSet<>();
        for (int y = 0; y < image.getHeight(); y += 7) {
            for (int x = 0; x < image.getWidth(); x += 7) {
                colours.add(image.getRGB(x, y));
            }
        }
        return colours.size();
    }
}
