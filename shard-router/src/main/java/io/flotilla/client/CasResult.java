package io.flotilla.client;

/**
 * The outcome of a compare-and-set: whether it wrote, and the key's value after it (the new value
 * when it succeeded, the value that made it fail otherwise; null for an absent key). Immutable, any thread.
 */
public record CasResult(boolean succeeded, byte[] currentValue) {
}
