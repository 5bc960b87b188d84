package io.flotilla.bench.load;

import java.util.SplittableRandom;

/**
 * Which operation comes next and on which key: the operation mix and the key distribution.
 * Immutable, any thread (each with its own {@link SplittableRandom}).
 */
record Workload(OpMix mix, KeyDistribution keys) {
    OpKind nextKind(SplittableRandom random) {
        return mix.next(random);
    }

    long nextKey(SplittableRandom random) {
        return keys.next(random);
    }
}
