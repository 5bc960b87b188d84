package io.flotilla.bench.load;

import java.util.SplittableRandom;

/**
 * How the load generator picks the index of the next key among {@code keys}: uniformly, or by a
 * Zipfian law (YCSB's generator, Gray et al., "Quickly generating billion-record synthetic
 * databases", SIGMOD 1994) whose ranks are scrambled, so that the hot keys spread over the key space
 * (and so over the ranges) instead of crowding its start. Immutable after construction: any thread,
 * each with its own {@link SplittableRandom}.
 */
abstract class KeyDistribution {
    /** YCSB's default skew: the hottest key gets about 5% of 1,000,000 keys' requests. */
    static final double ZIPFIAN_THETA = 0.99;

    final long keys;

    private KeyDistribution(long keys) {
        if (keys < 1) {
            throw new IllegalArgumentException("the workload needs at least one key, not " + keys);
        }
        this.keys = keys;
    }

    /** A key index in {@code [0, keys)}. */
    abstract long next(SplittableRandom random);

    static KeyDistribution of(String name, long keys) {
        switch (name) {
            case "uniform":
                return new Uniform(keys);
            case "zipfian":
                return new Zipfian(keys, ZIPFIAN_THETA);
            default:
                throw new IllegalArgumentException("unknown key distribution '" + name + "': use uniform or zipfian");
        }
    }

    private static final class Uniform extends KeyDistribution {
        Uniform(long keys) {
            super(keys);
        }

        @Override
        long next(SplittableRandom random) {
            return random.nextLong(keys);
        }
    }

    /** Rank r (0 the most popular) with probability proportional to 1 / (r + 1)^theta, then scrambled. */
    static final class Zipfian extends KeyDistribution {
        private final double theta;
        private final double zetaN;
        private final double alpha;
        private final double eta;

        Zipfian(long keys, double theta) {
            super(keys);
            if (!(theta > 0 && theta < 1)) {
                throw new IllegalArgumentException("Zipfian theta must lie in (0, 1), not " + theta);
            }
            this.theta = theta;
            this.zetaN = zeta(keys, theta);
            this.alpha = 1 / (1 - theta);
            double zeta2 = zeta(2, theta);
            this.eta = (1 - Math.pow(2.0 / keys, 1 - theta)) / (1 - zeta2 / zetaN);
        }

        private static double zeta(long n, double theta) {
            double sum = 0;
            for (long i = 1; i <= n; i++) {
                sum += 1 / Math.pow(i, theta);
            }
            return sum;
        }

        /** The unscrambled rank: 0 is the most popular. */
        long nextRank(SplittableRandom random) {
            double u = random.nextDouble();
            double uz = u * zetaN;
            if (uz < 1) {
                return 0;
            }
            if (uz < 1 + Math.pow(0.5, theta)) {
                return Math.min(1, keys - 1);
            }
            return Math.min(keys - 1, (long) (keys * Math.pow(eta * u - eta + 1, alpha)));
        }

        @Override
        long next(SplittableRandom random) {
            return Math.floorMod(mix(nextRank(random)), keys);
        }

        /** SplitMix64's finalizer: a bijection of longs that scatters neighbouring ranks. */
        private static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }
    }
}
