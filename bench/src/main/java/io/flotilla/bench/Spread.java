package io.flotilla.bench;

import java.util.Arrays;
import java.util.function.ToDoubleFunction;
import java.util.List;

/**
 * One figure over a row's measured runs: its minimum, median and maximum. Immutable; made and
 * printed by the bench's main thread.
 */
record Spread(double min, double median, double max, int runs) {

    static Spread of(double[] values) {
        if (values.length == 0) {
            throw new IllegalArgumentException("a spread needs at least one value");
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        int n = sorted.length;
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        return new Spread(sorted[0], median, sorted[n - 1], n);
    }

    static <T> Spread of(List<T> runs, ToDoubleFunction<T> figure) {
        double[] values = new double[runs.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = figure.applyAsDouble(runs.get(i));
        }
        return of(values);
    }

    /** The median, then "(min–max)" when there was more than one run; {@code format} formats one value. */
    String format(String format) {
        String median = String.format(format, this.median);
        if (runs == 1) {
            return median;
        }
        return median + " (" + String.format(format, min) + "–" + String.format(format, max) + ")";
    }

    /** Just the median. */
    String median(String format) {
        return String.format(format, median);
    }
}
