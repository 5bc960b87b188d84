package io.flotilla.bench.load;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.text.FieldPosition;
import java.text.NumberFormat;
import java.text.ParsePosition;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.HistogramIterationValue;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.title.TextTitle;
import org.jfree.chart.ui.RectangleInsets;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.jfree.svg.SVGGraphics2D;
import org.jfree.svg.SVGUtils;

/**
 * The load generator's {@code --plot}: one image with the latency-percentile curve of each operation
 * kind and of all together (HdrHistogram's plot: the x axis is {@code 1 / (1 - percentile)} on a log
 * scale, labelled 90%, 99%, 99.9%, ..., so the tail gets as much room as the median), and below it
 * the completed operations per second of each second of the run. Drawn by JFreeChart into a PNG, or
 * an SVG (JFreeSVG) when the file name ends in {@code .svg}. Stateless; runs on the caller's thread,
 * headless.
 */
final class LatencyPlot {
    static final int WIDTH = 1200;
    static final int HEIGHT = 1000;
    private static final int CURVE_HEIGHT = 620;
    /** Points per halving of the distance to 100%, as HdrHistogram's percentile output prints them. */
    private static final int TICKS_PER_HALF_DISTANCE = 5;
    /** Dark enough to read on white (JFreeChart's default series colours include yellow). */
    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
            new Color(0x9467bd), new Color(0x8c564b), Color.BLACK};

    private LatencyPlot() {
    }

    /**
     * Writes the plot to {@code file}.
     *
     * @param curves       a latency histogram (ns) per curve, in legend order; empty ones are left out
     * @param opsPerSecond completed operations in each second of the measured run
     * @param title        what was measured: shown above the curves
     */
    static void write(Path file, Map<String, Histogram> curves, List<Long> opsPerSecond, String title) throws IOException {
        System.setProperty("java.awt.headless", "true");
        JFreeChart percentiles = percentileChart(curves, title);
        JFreeChart throughput = throughputChart(opsPerSecond);
        if (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT).endsWith(".svg")) {
            SVGGraphics2D g = new SVGGraphics2D(WIDTH, HEIGHT);
            draw(g, percentiles, throughput);
            SVGUtils.writeToSVG(file.toFile(), g.getSVGElement());
        } else {
            BufferedImage image = new BufferedImage(WIDTH, HEIGHT, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = image.createGraphics();
            try {
                g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
                draw(g, percentiles, throughput);
            } finally {
                g.dispose();
            }
            if (!ImageIO.write(image, "png", file.toFile())) {
                throw new IOException("no PNG writer in this JVM to write " + file);
            }
        }
    }

    private static void draw(Graphics2D g, JFreeChart percentiles, JFreeChart throughput) {
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, WIDTH, HEIGHT);
        percentiles.draw(g, new Rectangle2D.Double(0, 0, WIDTH, CURVE_HEIGHT));
        throughput.draw(g, new Rectangle2D.Double(0, CURVE_HEIGHT, WIDTH, HEIGHT - CURVE_HEIGHT));
    }

    static JFreeChart percentileChart(Map<String, Histogram> curves, String title) {
        XYSeriesCollection data = new XYSeriesCollection();
        double maxX = 10;
        for (Map.Entry<String, Histogram> curve : curves.entrySet()) {
            Histogram h = curve.getValue();
            if (h.getTotalCount() == 0) {
                continue;
            }
            XYSeries series = new XYSeries(curve.getKey(), false, true);
            for (HistogramIterationValue v : h.percentiles(TICKS_PER_HALF_DISTANCE)) {
                double fraction = v.getPercentileLevelIteratedTo() / 100;
                if (fraction >= 1) {
                    break;
                }
                series.add(1 / (1 - fraction), h.highestEquivalentValue(v.getValueIteratedTo()) / 1e6);
            }
            // The maximum sits where the last of totalCount values would: 1 / (1 - (n - 1) / n) = n.
            double lastX = Math.max(1, h.getTotalCount());
            series.add(lastX, h.getMaxValue() / 1e6);
            maxX = Math.max(maxX, lastX);
            data.addSeries(series);
        }
        JFreeChart chart = ChartFactory.createXYLineChart("latency by percentile", "percentile", "latency (ms)", data,
                PlotOrientation.VERTICAL, true, false, false);
        chart.setPadding(new RectangleInsets(4, 8, 4, 30)); // room for the last percentile label
        TextTitle subtitle = new TextTitle(title);
        subtitle.setPadding(4, 40, 4, 40);
        chart.addSubtitle(subtitle);
        XYPlot plot = chart.getXYPlot();
        LogAxis x = new LogAxis("percentile (log scale of 1 / (1 - p))");
        x.setBase(10);
        x.setSmallestValue(1);
        x.setRange(1, Math.pow(10, Math.ceil(Math.log10(maxX))));
        x.setNumberFormatOverride(new PercentileFormat());
        // One labelled tick per decade of 1 / (1 - p): 0%, 90%, 99%, 99.9%, ... (the unit is an exponent).
        x.setTickUnit(new NumberTickUnit(1), false, true);
        plot.setDomainAxis(x);
        style(plot);
        XYLineAndShapeRenderer renderer = (XYLineAndShapeRenderer) plot.getRenderer();
        int allSeries = data.indexOf("all");
        if (allSeries >= 0) {
            renderer.setSeriesPaint(allSeries, Color.BLACK);
            renderer.setSeriesStroke(allSeries, new BasicStroke(3f));
        }
        return chart;
    }

    static JFreeChart throughputChart(List<Long> opsPerSecond) {
        XYSeries series = new XYSeries("completed ops/s");
        for (int s = 0; s < opsPerSecond.size(); s++) {
            series.add(s + 1, opsPerSecond.get(s));
        }
        JFreeChart chart = ChartFactory.createXYLineChart("throughput over the measured run", "second", "ops/s",
                new XYSeriesCollection(series), PlotOrientation.VERTICAL, false, false, false);
        XYPlot plot = chart.getXYPlot();
        style(plot);
        plot.getDomainAxis().setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        ((XYLineAndShapeRenderer) plot.getRenderer()).setDefaultShapesVisible(true);
        return chart;
    }

    private static void style(XYPlot plot) {
        plot.setBackgroundPaint(Color.WHITE);
        plot.setDomainGridlinePaint(Color.LIGHT_GRAY);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        for (int i = 0; i < plot.getDataset().getSeriesCount(); i++) {
            renderer.setSeriesPaint(i, COLORS[i % COLORS.length]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        plot.setRenderer(renderer);
    }

    /** Labels an x value {@code 1 / (1 - p)} as the percentile p: 1 is 0%, 10 is 90%, 1000 is 99.9%. */
    static final class PercentileFormat extends NumberFormat {
        private static final long serialVersionUID = 1L;

        @Override
        public StringBuffer format(double x, StringBuffer to, FieldPosition pos) {
            double percent = 100 * (1 - 1 / x);
            String text = percent < 1e-9 ? "0" : String.format(java.util.Locale.ROOT, "%.6f", percent)
                    .replaceAll("0+$", "").replaceAll("\\.$", "");
            return to.append(text).append('%');
        }

        @Override
        public StringBuffer format(long x, StringBuffer to, FieldPosition pos) {
            return format((double) x, to, pos);
        }

        @Override
        public Number parse(String source, ParsePosition pos) {
            throw new UnsupportedOperationException("percentile labels are for display only");
        }
    }
}
