package io.flotilla.check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The states a {@link RegisterSearch} explored and found to lead nowhere (Lowe's memoization),
 * keyed compactly. Owned by the search that created it.
 *
 * <p>A state is the set of linearized mandatory operations, the register value and how many
 * optional operations of each class were used. The key holds the first unlinearized mandatory
 * index, the value (or -1 when it is dead) and the bits of the few linearized operations above
 * that index: a handful of words however long the history. The used counts are not part of the
 * key but of its entries, because a state is pruned by dominance: if (K, v, U) failed, then so
 * does (K, v, U') when U' used at least as many of every class, since every continuation of the
 * latter also works from the former with the extra optional operations left out.
 *
 * <p>Forgetting entries never makes a verdict wrong, only slower: past {@code maxEntries} the
 * memo is cleared.
 */
final class StateMemo {
    private static final int[] NONE = new int[0];

    private final int maxEntries;
    private final Map<Key, Object> failed = new HashMap<>();
    private int entries;
    private long clears;

    StateMemo(int maxEntries) {
        this.maxEntries = maxEntries;
    }

    /** Whether a failed state with key {@code key} used no more of any class than {@code used}. */
    boolean dominated(Key key, int[] used) {
        Object found = failed.get(key);
        if (found == null) {
            return false;
        }
        if (found instanceof int[] single) {
            return atMost(single, used);
        }
        @SuppressWarnings("unchecked")
        List<int[]> list = (List<int[]>) found;
        for (int[] u : list) {
            if (atMost(u, used)) {
                return true;
            }
        }
        return false;
    }

    /** Records that the state (key, used) leads nowhere. */
    void fail(Key key, int[] used) {
        if (entries >= maxEntries) {
            failed.clear();
            entries = 0;
            clears++;
        }
        Object found = failed.get(key);
        entries++;
        if (found == null) {
            failed.put(key, used.length == 0 ? NONE : used);
            return;
        }
        List<int[]> list;
        if (found instanceof int[] single) {
            list = new ArrayList<>(2);
            list.add(single);
            failed.put(key, list);
        } else {
            @SuppressWarnings("unchecked")
            List<int[]> existing = (List<int[]>) found;
            list = existing;
        }
        // Entries the new one dominates are redundant.
        list.removeIf(u -> atMost(used, u));
        list.add(used);
    }

    int size() {
        return entries;
    }

    long clears() {
        return clears;
    }

    /**
     * Whether every class count in {@code a} is at most its count in {@code b}; both are sorted
     * (class, count) pairs, a class missing from an array counting zero.
     */
    static boolean atMost(int[] a, int[] b) {
        int j = 0;
        for (int i = 0; i < a.length; i += 2) {
            while (j < b.length && b[j] < a[i]) {
                j += 2;
            }
            if (j >= b.length || b[j] != a[i] || b[j + 1] < a[i + 1]) {
                return false;
            }
        }
        return true;
    }

    /** The hashed part of a state: an immutable array of words with its hash cached. */
    static final class Key {
        private final long[] words;
        private final int hash;

        Key(long[] words) {
            this.words = words;
            long h = 0x9E3779B97F4A7C15L;
            for (long w : words) {
                h = (h ^ w) * 0xBF58476D1CE4E5B9L;
                h ^= h >>> 31;
            }
            this.hash = (int) (h ^ (h >>> 32));
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key other && hash == other.hash && Arrays.equals(words, other.words);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public String toString() {
            return Arrays.toString(words);
        }
    }
}
