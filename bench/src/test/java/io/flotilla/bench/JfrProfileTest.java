package io.flotilla.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordingStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link JfrProfile} over a recording made in this JVM: two named threads spin in two methods one
 * after the other, each until the recording holds enough of its execution samples (counted by a
 * recording stream, so the test waits for samples, not for time). Asserts nothing about timing.
 */
class JfrProfileTest {
    private static final String FIRST = "io.flotilla.bench.JfrProfileTest.spinFirst";
    private static final String SECOND = "io.flotilla.bench.JfrProfileTest.spinSecond";
    private static final int SAMPLES_PER_PHASE = 20;
    private static volatile long sink;

    @TempDir
    Path dir;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void findsTheBusyMethodAndItsThreadGroupAndAWindowKeepsOnlyWhatFallsInIt() throws Exception {
        Path file = dir.resolve("busy.jfr");
        Instant between;
        try (Recording recording = new Recording(); RecordingStream stream = new RecordingStream()) {
            recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10)).withStackTrace();
            recording.enable("jdk.ThreadCPULoad").withPeriod(Duration.ofMillis(100));
            recording.enable("jdk.CPULoad").withPeriod(Duration.ofMillis(100));
            recording.enable("jdk.CPUInformation");
            recording.enable("jdk.ObjectAllocationSample").withStackTrace();
            stream.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(10));
            CountDownLatch first = new CountDownLatch(SAMPLES_PER_PHASE);
            CountDownLatch second = new CountDownLatch(SAMPLES_PER_PHASE);
            stream.onEvent("jdk.ExecutionSample", e -> {
                String thread = e.getThread("sampledThread").getJavaName();
                if ("busy-first-7".equals(thread)) {
                    first.countDown();
                } else if ("busy-second-12".equals(thread)) {
                    second.countDown();
                }
            });
            recording.start();
            stream.startAsync();
            spinUntilSampled("busy-first-7", JfrProfileTest::spinFirst, first);
            between = Instant.now();
            spinUntilSampled("busy-second-12", JfrProfileTest::spinSecond, second);
            recording.stop();
            recording.dump(file);
        }

        JfrProfile all = JfrProfile.read(file, JfrProfile.Window.all());
        assertThat(all.samplesIn(FIRST)).as("samples in spinFirst").isPositive();
        assertThat(all.samplesIn(SECOND)).as("samples in spinSecond").isPositive();
        assertThat(all.samplesByGroup()).as("thread groups, digits collapsed").containsKeys("busy-first-N", "busy-second-N");
        String report = all.report(1_000, JfrProfile.Rows.FULL);
        System.out.print(report);
        assertThat(report).contains("busy-first-N", "busy-second-N", "bench.JfrProfileTest.spinFirst",
                "bench.JfrProfileTest.spinSecond", "µs/op");

        JfrProfile twice = JfrProfile.merge("twice", List.of(all, all));
        assertThat(twice.samplesIn(FIRST)).as("a merge adds the samples up").isEqualTo(2 * all.samplesIn(FIRST));
        assertThat(twice.report(1_000, JfrProfile.Rows.COMPACT)).startsWith("twice: ");

        JfrProfile after = JfrProfile.read(file, JfrProfile.Window.between(between, null));
        assertThat(after.samplesIn(FIRST)).as("spinFirst after it stopped").isZero();
        assertThat(after.samplesIn(SECOND)).as("spinSecond after the first phase").isPositive();
        assertThat(after.samplesByGroup()).doesNotContainKey("busy-first-N");

        JfrProfile before = JfrProfile.read(file, JfrProfile.Window.between(null, between));
        assertThat(before.samplesIn(SECOND)).as("spinSecond before it started").isZero();
        assertThat(before.samplesIn(FIRST)).isPositive();
    }

    @Test
    void theLastSecondsEndAtTheRecordingsEndAndStartNoEarlierThanIt() {
        Instant start = Instant.parse("2026-01-02T13:00:00Z");
        Instant end = start.plusSeconds(20);
        assertThat(JfrProfile.Window.last(Duration.ofSeconds(5)).resolve(start, end))
                .containsExactly(start.plusSeconds(15), end);
        assertThat(JfrProfile.Window.last(Duration.ofSeconds(60)).resolve(start, end)).containsExactly(start, end);
        assertThat(JfrProfile.Window.between(start.plusSeconds(3), null).resolve(start, end))
                .containsExactly(start.plusSeconds(3), end);
    }

    @Test
    void classNamesReadAsInSourceAndALambdaIsOneNameInEveryJvm() {
        assertThat(JfrProfile.className("[B")).isEqualTo("byte[]");
        assertThat(JfrProfile.className("[[Ljava.lang.String;")).isEqualTo("java.lang.String[][]");
        assertThat(JfrProfile.className("io.flotilla.Foo$$Lambda$646+0x00007f91ec12ad40.790021811"))
                .isEqualTo("io.flotilla.Foo$$Lambda");
        assertThat(JfrProfile.className("io.flotilla.Foo$Bar")).isEqualTo("io.flotilla.Foo$Bar");
    }

    /** Runs {@code spin} in a thread named {@code name} until {@code sampled} reaches zero. */
    private static void spinUntilSampled(String name, SpinMethod spin, CountDownLatch sampled) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        Thread t = new Thread(() -> sink = spin.run(stop), name);
        t.start();
        boolean enough = sampled.await(60, TimeUnit.SECONDS);
        stop.set(true);
        t.join();
        assertThat(enough).as(name + " sampled " + SAMPLES_PER_PHASE + " times within 60 s").isTrue();
    }

    private interface SpinMethod {
        long run(AtomicBoolean stop);
    }

    private static long spinFirst(AtomicBoolean stop) {
        return spin(stop, () -> 31);
    }

    private static long spinSecond(AtomicBoolean stop) {
        return spin(stop, () -> 37);
    }

    private static long spin(AtomicBoolean stop, LongSupplier factor) {
        long x = 1;
        while (!stop.get()) {
            for (int i = 0; i < 10_000; i++) {
                x = x * factor.getAsLong() + i;
            }
        }
        return x;
    }
}
