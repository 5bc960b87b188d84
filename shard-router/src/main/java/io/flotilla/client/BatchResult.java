package io.flotilla.client;

/**
 * The outcome of a batch: applied whole, or not at all because condition number
 * {@code failedCondition} (in the order they were added) did not hold, the key it names having
 * {@code currentValue} (null when absent). Immutable, any thread.
 */
public record BatchResult(boolean succeeded, int failedCondition, byte[] currentValue) {
}
