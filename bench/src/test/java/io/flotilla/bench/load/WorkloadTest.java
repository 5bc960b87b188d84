package io.flotilla.bench.load;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import java.util.EnumMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class WorkloadTest {
    @Test
    void keysAreDistinctInOrderAndSpreadOverTheFirstTwoBytes() {
        KeyCodec codec = new KeyCodec(1_000, 16);
        byte[] previous = null;
        for (int i = 0; i < 1_000; i++) {
            byte[] key = codec.key(i);
            assertThat(key).hasSize(16);
            if (previous != null) {
                assertThat(Arrays.compareUnsigned(previous, key)).as("key %d after key %d", i, i - 1).isNegative();
            }
            previous = key;
        }
        assertThat(codec.key(999)[0] & 0xff).as("the last key's first byte: near the end of the key space").isEqualTo(255);
    }

    @Test
    void aKeySizeTooSmallForTheKeyCountIsRefusedSayingWhatFits() {
        assertThatThrownBy(() -> new KeyCodec(1_000_000, 4)).hasMessageContaining("use 5 to 65536 bytes");
    }

    @Test
    void zipfianFavoursFewKeysAndUniformDoesNot() {
        int keys = 100_000;
        int draws = 200_000;
        assertThat(hottestShare(KeyDistribution.of("zipfian", keys), keys, draws)).isGreaterThan(0.03);
        assertThat(hottestShare(KeyDistribution.of("uniform", keys), keys, draws)).isLessThan(0.001);
    }

    private static double hottestShare(KeyDistribution d, int keys, int draws) {
        int[] counts = new int[keys];
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < draws; i++) {
            long k = d.next(random);
            assertThat(k).isBetween(0L, keys - 1L);
            counts[(int) k]++;
        }
        return Arrays.stream(counts).max().getAsInt() / (double) draws;
    }

    @Test
    void theMixGivesEachKindItsShareAndPutsTheRest() {
        OpMix mix = new OpMix(0.5, 0.1, 0.1);
        Map<OpKind, Integer> counts = new EnumMap<>(OpKind.class);
        SplittableRandom random = new SplittableRandom(5);
        for (int i = 0; i < 100_000; i++) {
            counts.merge(mix.next(random), 1, Integer::sum);
        }
        assertThat(counts.get(OpKind.READ)).isBetween(49_000, 51_000);
        assertThat(counts.get(OpKind.CAS)).isBetween(9_500, 10_500);
        assertThat(counts.get(OpKind.SCAN)).isBetween(9_500, 10_500);
        assertThat(counts.get(OpKind.PUT)).isBetween(29_000, 31_000);
        assertThatThrownBy(() -> new OpMix(0.8, 0.3, 0)).hasMessageContaining("add up to more than 1");
    }
}
