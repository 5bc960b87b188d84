package io.flotilla.check;

/**
 * What checks cost, summed over keys: search steps (windows included), memo entries at the
 * end, windows tried. For the cost table and tests; confined to the thread that checks.
 */
final class SearchStats {
    long steps;
    long memoEntries;
    long windows;
    long windowSteps;

    void add(long steps, long memoEntries, long windows, long windowSteps) {
        this.steps += steps;
        this.memoEntries += memoEntries;
        this.windows += windows;
        this.windowSteps += windowSteps;
    }
}
