package io.flotilla.multiraft;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The faults the runtime simulation can inject, each switchable by name with
 * {@code -Druntime.sim.nemeses=crash,partition,...} (default: all), so that a known, unfixed bug can
 * be isolated. Network loss, delay, duplication and reordering are always on. Immutable.
 */
enum RuntimeSimNemesis {
    /** Power failure of one node, two, or all: unsynced data is lost (or torn); restart later from the log. */
    CRASH("crash"),
    /** Graceful {@code close} and later restart: the closed node must have answered every caller. */
    CLOSE("close"),
    /** A node isolated, or the nodes split in two; healed later. */
    PARTITION("partition"),
    /** {@code destroyReplica} of a replica, the leader's included; an operator later removes it from the group. */
    DESTROY("destroy"),
    /** The leader removes its own node from the group through {@code changeMembership}. */
    REMOVE_LEADER("remove-leader"),
    /** {@code transferLeader} to another voter. */
    TRANSFER("transfer"),
    /** The state machine throws in {@code apply}: the worker that applies fails; a supervisor restarts the node later. */
    FAIL_WORKER("fail-worker"),
    /** Forged messages from non-members (a VOTE at term {@code Long.MAX_VALUE}, ...) handed to {@code deliver}. */
    FORGE("forge");

    final String propertyName;

    RuntimeSimNemesis(String propertyName) {
        this.propertyName = propertyName;
    }

    /** Parses a comma-separated list of names; "all" (or empty) is every nemesis, "none" is none. */
    static Set<RuntimeSimNemesis> parse(String list) {
        String trimmed = list == null ? "" : list.trim().toLowerCase(Locale.ROOT);
        if (trimmed.isEmpty() || trimmed.equals("all")) {
            return EnumSet.allOf(RuntimeSimNemesis.class);
        }
        Set<RuntimeSimNemesis> set = EnumSet.noneOf(RuntimeSimNemesis.class);
        if (trimmed.equals("none")) {
            return set;
        }
        for (String name : trimmed.split(",")) {
            String n = name.trim();
            if (n.isEmpty()) {
                continue;
            }
            RuntimeSimNemesis found = null;
            for (RuntimeSimNemesis k : values()) {
                if (k.propertyName.equals(n)) {
                    found = k;
                }
            }
            if (found == null) {
                throw new IllegalArgumentException("unknown nemesis '" + n + "' in runtime.sim.nemeses; known: " + names(
                        EnumSet.allOf(RuntimeSimNemesis.class)) + ", or all, or none");
            }
            set.add(found);
        }
        return set;
    }

    /** The names of {@code set}, comma-separated, in declaration order (what {@link #parse} reads). */
    static String names(Set<RuntimeSimNemesis> set) {
        if (set.isEmpty()) {
            return "none";
        }
        List<String> names = new ArrayList<>();
        for (RuntimeSimNemesis k : set) {
            names.add(k.propertyName);
        }
        return String.join(",", names);
    }
}
