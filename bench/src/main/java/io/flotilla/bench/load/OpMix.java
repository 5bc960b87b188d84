package io.flotilla.bench.load;

import java.util.SplittableRandom;

/**
 * The share of each operation in the workload: reads, compare-and-sets and scans as given, puts
 * the rest. Immutable, any thread (each with its own {@link SplittableRandom}).
 */
record OpMix(double readRatio, double casRatio, double scanRatio) {
    OpMix {
        check("--read-ratio", readRatio);
        check("--cas-ratio", casRatio);
        check("--scan-ratio", scanRatio);
        if (readRatio + casRatio + scanRatio > 1 + 1e-9) {
            throw new IllegalArgumentException(String.format("--read-ratio %s, --cas-ratio %s and --scan-ratio %s add up to"
                    + " more than 1; puts take what they leave", readRatio, casRatio, scanRatio));
        }
    }

    private static void check(String option, double ratio) {
        if (!(ratio >= 0 && ratio <= 1)) {
            throw new IllegalArgumentException(option + " is a share between 0 and 1, not " + ratio);
        }
    }

    double putRatio() {
        return Math.max(0, 1 - readRatio - casRatio - scanRatio);
    }

    OpKind next(SplittableRandom random) {
        double u = random.nextDouble();
        if (u < readRatio) {
            return OpKind.READ;
        }
        u -= readRatio;
        if (u < casRatio) {
            return OpKind.CAS;
        }
        u -= casRatio;
        if (u < scanRatio) {
            return OpKind.SCAN;
        }
        return OpKind.PUT;
    }
}
