package io.flotilla.transport.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SendRateTest {
    private static final long SECOND = 1_000_000_000L;
    private static final int CHUNK = 256 << 10;

    @Test
    void withoutALimitEveryChunkGoesAtOnce() {
        SendRate rate = new SendRate();
        for (int i = 0; i < 1000; i++) {
            assertThat(rate.take(CHUNK, i)).isZero();
        }
    }

    @Test
    void aLimitLetsOneSecondsWorthGoThenPacesTheRest() {
        SendRate rate = new SendRate();
        rate.limit(1 << 20); // 1 MiB/s: four chunks a second
        long now = SECOND;
        for (int i = 0; i < 4; i++) {
            assertThat(rate.take(CHUNK, now)).isZero();
        }
        long wait = rate.take(CHUNK, now);
        assertThat(wait).isBetween(SECOND / 4 - 1_000, SECOND / 4 + 1_000);
        // Nothing was taken by the refused call: after the wait the chunk goes.
        assertThat(rate.take(CHUNK, now + wait)).isZero();
        // Over ten seconds, about ten seconds' worth goes (plus the first second's burst).
        long sent = 0;
        for (long t = now + wait; t < now + 10 * SECOND; t += SECOND / 100) {
            while (rate.take(CHUNK, t) == 0) {
                sent += CHUNK;
            }
        }
        assertThat(sent).isBetween(9L << 20, 11L << 20);
    }

    @Test
    void aChunkLargerThanASecondsWorthStillGoes() {
        SendRate rate = new SendRate();
        rate.limit(1024);
        assertThat(rate.take(CHUNK, SECOND)).isZero();
        assertThat(rate.take(CHUNK, SECOND)).isGreaterThan(100 * SECOND);
    }
}
