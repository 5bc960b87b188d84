package io.flotilla.raft;

/** Volatile state worth telling the application about: who leads and what this replica is. */
public record SoftState(long leader, Role role) {
}
