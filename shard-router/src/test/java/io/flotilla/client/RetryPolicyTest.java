package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The backoff of {@link RetryPolicy}: growth, cap, jitter and validation. One test thread. */
class RetryPolicyTest {
    private final RetryPolicy policy = new RetryPolicy(10, Duration.ofMillis(10), Duration.ofMillis(300));

    @Test
    void waitsGrowExponentiallyInTheUpperHalfOfEachStepUpToTheCap() {
        long[] stepsMs = {10, 20, 40, 80, 160, 300, 300};
        for (int retry = 1; retry <= stepsMs.length; retry++) {
            long stepNs = Duration.ofMillis(stepsMs[retry - 1]).toNanos();
            assertThat(policy.backoffNanos(retry, 0.0)).isEqualTo(stepNs - stepNs / 2);
            assertThat(policy.backoffNanos(retry, 0.999_999)).isBetween(stepNs - stepNs / 2, stepNs);
        }
    }

    @Test
    void hugeRetryNumbersDoNotOverflow() {
        assertThat(policy.backoffNanos(1_000, 0.5)).isBetween(Duration.ofMillis(150).toNanos(), Duration.ofMillis(300).toNanos());
        RetryPolicy wide = new RetryPolicy(3, Duration.ofNanos(1), Duration.ofDays(365));
        assertThat(wide.backoffNanos(70, 0.0)).isPositive();
    }

    @Test
    void jitterSpreadsClientsThatFailedTogether() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(42);
        long distinct = java.util.stream.IntStream.range(0, 100).mapToLong(i -> policy.backoffNanos(4, random.nextDouble())).distinct().count();
        assertThat(distinct).isGreaterThan(90);
    }

    @Test
    void refusesNonsense() {
        assertThatThrownBy(() -> new RetryPolicy(0, Duration.ofMillis(1), Duration.ofMillis(2))).hasMessageContaining("at least 1 attempt");
        assertThatThrownBy(() -> new RetryPolicy(1, Duration.ZERO, Duration.ofMillis(2))).hasMessageContaining("positive");
        assertThatThrownBy(() -> new RetryPolicy(1, Duration.ofMillis(5), Duration.ofMillis(2))).hasMessageContaining("below");
        assertThatThrownBy(() -> policy.backoffNanos(0, 0.5)).hasMessageContaining("from 1");
    }
}
