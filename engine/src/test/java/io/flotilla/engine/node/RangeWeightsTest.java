package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class RangeWeightsTest {
    @Test
    void theWriteRateIsTheCommitIndexGrowthSmoothedAndTheBytesTheLastReported() {
        RangeWeights w = new RangeWeights();
        w.observe(7, 1_000, 10 << 20, 0);
        assertThat(w.weights(0).get(7L).writesPerSecond()).as("one report: no rate yet").isZero();
        w.observe(7, 1_400, 12 << 20, 2_000); // 200 writes/s
        assertThat(w.weights(2_000).get(7L).writesPerSecond()).isCloseTo(200, within(1e-9));
        assertThat(w.weights(2_000).get(7L).bytes()).isEqualTo(12 << 20);
        w.observe(7, 2_400, 12 << 20, 3_000); // a burst of 1,000 writes/s counts for a quarter
        assertThat(w.weights(3_000).get(7L).writesPerSecond()).isCloseTo(200 + 0.25 * 800, within(1e-9));
    }

    @Test
    void aNewLeaderBehindTheLastReportStartsOverAndSilentRangesAreForgotten() {
        RangeWeights w = new RangeWeights();
        w.observe(7, 1_000, 0, 0);
        w.observe(7, 1_100, 0, 1_000);
        w.observe(7, 900, 0, 2_000); // behind: no negative rate
        assertThat(w.weights(2_000).get(7L).writesPerSecond()).isCloseTo(100, within(1e-9));
        w.observe(7, 1_000, 0, 3_000);
        assertThat(w.weights(3_000).get(7L).writesPerSecond()).isCloseTo(100 + 0.25 * (100 - 100), within(1e-9));
        assertThat(w.weights(3_000 + RangeWeights.FORGET_AFTER_MS + 1)).isEmpty();
    }
}
