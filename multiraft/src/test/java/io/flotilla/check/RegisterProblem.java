package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntPredicate;

/**
 * One register search in the compact form {@link RegisterSearch} runs on: the operations that
 * must be linearized ("mandatory": the known outcomes), the operations that may take effect at
 * most once, at any point after they become available, or never ("optional": unknown outcomes,
 * and in a relaxed window the known operations that cross its edges), and the register values
 * folded to small ints. Immutable once built; shared by the searches of one key's check, all on
 * the thread that runs it.
 *
 * <p>Values that no mandatory READ returns and no CAS expects are indistinguishable to every
 * operation here, so they fold into one {@link #unobserved} value. Optional operations with the
 * same kind, expected and (folded) value form a <em>shape</em>; operations of a shape are
 * interchangeable once available, so the search uses them in order of availability and only
 * counts how many it used.
 */
final class RegisterProblem {
    static final byte READ = 0;
    static final byte WRITE = 1;
    static final byte CAS = 2;
    private static final int[] NONE = new int[0];

    final String key;
    /** The key's whole sub-history, sorted by call time: an operation's index here is its id. */
    final Operation[] source;

    /** Mandatory operations, indexed 0..knownCount-1 in call-time order. */
    final int knownCount;
    final int[] knownId;
    final long[] call;
    final long[] ret;
    final byte[] kind;
    final int[] value;
    final int[] expected;
    final boolean[] result;
    /**
     * Per mandatory index i: the last mandatory index whose call is at or before i's return.
     * Invariant: while i is the first unlinearized index, every linearized index above it is at
     * most reach[i], since nothing called after i's return can go before i.
     */
    final int[] reach;

    /** Folded values 0..valueCount-1; the last one is {@link #unobserved}. */
    final int valueCount;
    final int unobserved;
    /** The folded absent value (the initial register of a whole sub-history). */
    final int absent;
    private final String[] valueNames;
    /**
     * Per value: the last mandatory index that can tell it apart from other values (a READ of
     * it, a CAS expecting it, or one reached through an optional CAS chain out of it), or -1.
     * A value whose observer index is below the first unlinearized index is dead: nothing left
     * can distinguish it from any other dead value.
     */
    final int[] lastObserver;

    /** Optional operations grouped by shape. */
    final int shapeCount;
    final byte[] shapeKind;
    /** The expected value of a CAS shape; -1 for a WRITE shape. */
    final int[] shapeExpected;
    final int[] shapeValue;
    /** Per shape: its operations' ids and the times they become available, both by time. */
    final int[][] shapeOps;
    final long[][] shapeAvailable;
    /** Shapes by the value they produce or expect; a CAS that would not change the value is left out. */
    final int[][] writesTo;
    final int[][] casTo;
    final int[][] casFrom;
    final int[] writeShapes;

    /**
     * @param source operations sorted by call time, then return time (an unknown one's at +infinity)
     * @param mandatoryIds increasing ids in {@code source} of known operations that must take effect
     * @param optionalIds increasing ids of WRITE and CAS operations that may take effect once, or never
     * @param availableFrom the earliest time an optional operation may take effect (a window's start),
     *     {@code Long.MIN_VALUE} for none
     */
    RegisterProblem(String key, Operation[] source, int[] mandatoryIds, int[] optionalIds, long availableFrom) {
        this.key = key;
        this.source = source;
        this.knownCount = mandatoryIds.length;

        Map<String, Integer> observed = new HashMap<>();
        List<String> names = new ArrayList<>();
        for (int id : mandatoryIds) {
            Operation op = source[id];
            Check.argument(op.known(), "mandatory operation %s has an unknown outcome", op);
            if (op.kind() == OpKind.READ) {
                intern(observed, names, op.value());
            } else if (op.kind() == OpKind.CAS) {
                intern(observed, names, op.expected());
            }
        }
        for (int id : optionalIds) {
            Operation op = source[id];
            Check.argument(op.kind() != OpKind.READ, "optional operation %s is a READ; it changes nothing", op);
            if (op.kind() == OpKind.CAS) {
                intern(observed, names, op.expected());
            }
        }
        this.valueCount = names.size() + 1;
        this.unobserved = names.size();
        names.add(null);
        this.valueNames = names.toArray(new String[0]);
        this.absent = fold(observed, null);

        // Ids increase with call time (the source is sorted by call, then return), so the
        // mandatory operations arrive in the order the search indexes them.
        this.knownId = mandatoryIds.clone();
        this.call = new long[knownCount];
        this.ret = new long[knownCount];
        this.kind = new byte[knownCount];
        this.value = new int[knownCount];
        this.expected = new int[knownCount];
        this.result = new boolean[knownCount];
        for (int i = 0; i < knownCount; i++) {
            Check.argument(i == 0 || knownId[i - 1] < knownId[i], "mandatory ids not increasing at %d", i);
            Operation op = source[knownId[i]];
            call[i] = op.callTime();
            ret[i] = op.returnTime();
            kind[i] = code(op.kind());
            value[i] = fold(observed, op.value());
            expected[i] = op.kind() == OpKind.CAS ? fold(observed, op.expected()) : -1;
            result[i] = op.result();
        }
        this.reach = new int[knownCount];
        for (int i = 0; i < knownCount; i++) {
            reach[i] = lastCallAtOrBefore(ret[i]);
        }

        // Shapes in order of first availability; within one, operations by availability too.
        int n = optionalIds.length;
        Map<Long, Integer> shapeOf = new HashMap<>();
        int[] opShape = new int[n];
        byte[] kinds = new byte[n];
        int[] expecteds = new int[n];
        int[] values = new int[n];
        int[] sizes = new int[n];
        int shapes = 0;
        for (int i = 0; i < n; i++) {
            Check.argument(i == 0 || optionalIds[i - 1] < optionalIds[i], "optional ids not increasing at %d", i);
            Operation op = source[optionalIds[i]];
            byte k = code(op.kind());
            int e = op.kind() == OpKind.CAS ? fold(observed, op.expected()) : -1;
            int v = fold(observed, op.value());
            long packed = ((long) k << 62) | ((long) (e + 1) << 31) | v;
            Integer shape = shapeOf.get(packed);
            if (shape == null) {
                shape = shapes++;
                shapeOf.put(packed, shape);
                kinds[shape] = k;
                expecteds[shape] = e;
                values[shape] = v;
            }
            opShape[i] = shape;
            sizes[shape]++;
        }
        this.shapeCount = shapes;
        this.shapeKind = Arrays.copyOf(kinds, shapes);
        this.shapeExpected = Arrays.copyOf(expecteds, shapes);
        this.shapeValue = Arrays.copyOf(values, shapes);
        this.shapeOps = new int[shapes][];
        this.shapeAvailable = new long[shapes][];
        for (int sh = 0; sh < shapes; sh++) {
            shapeOps[sh] = new int[sizes[sh]];
            shapeAvailable[sh] = new long[sizes[sh]];
            sizes[sh] = 0;
        }
        for (int i = 0; i < n; i++) {
            int sh = opShape[i];
            shapeOps[sh][sizes[sh]] = optionalIds[i];
            shapeAvailable[sh][sizes[sh]++] = Math.max(source[optionalIds[i]].callTime(), availableFrom);
        }
        this.writesTo = shapesBy(shapeValue, sh -> shapeKind[sh] == WRITE);
        this.casTo = shapesBy(shapeValue, sh -> shapeKind[sh] == CAS && shapeExpected[sh] != shapeValue[sh]);
        this.casFrom = shapesBy(shapeExpected, sh -> shapeKind[sh] == CAS && shapeExpected[sh] != shapeValue[sh]);
        int writes = 0;
        for (int sh = 0; sh < shapes; sh++) {
            writes += shapeKind[sh] == WRITE ? 1 : 0;
        }
        this.writeShapes = new int[writes];
        for (int sh = 0, w = 0; sh < shapes; sh++) {
            if (shapeKind[sh] == WRITE) {
                writeShapes[w++] = sh;
            }
        }

        this.lastObserver = new int[valueCount];
        Arrays.fill(lastObserver, -1);
        for (int i = 0; i < knownCount; i++) {
            if (kind[i] == READ) {
                lastObserver[value[i]] = i;
            } else if (kind[i] == CAS) {
                lastObserver[expected[i]] = i;
            }
        }
        lastObserver[unobserved] = -1;
        // A value an optional CAS turns into a live one is live as long as that one is. The
        // propagation only raises entries, each at most to knownCount, so it terminates.
        boolean changed = true;
        while (changed) {
            changed = false;
            for (int s = 0; s < shapeCount; s++) {
                if (shapeKind[s] == CAS && lastObserver[shapeValue[s]] > lastObserver[shapeExpected[s]]) {
                    lastObserver[shapeExpected[s]] = lastObserver[shapeValue[s]];
                    changed = true;
                }
            }
        }
    }

    /** The whole sub-history of a key: every known operation is mandatory, every unknown one optional. */
    static RegisterProblem whole(String key, Operation[] source) {
        int known = 0;
        for (Operation op : source) {
            known += op.known() ? 1 : 0;
        }
        int[] mandatory = new int[known];
        int[] optional = new int[source.length - known];
        int m = 0;
        int o = 0;
        for (int id = 0; id < source.length; id++) {
            if (source[id].known()) {
                mandatory[m++] = id;
            } else {
                optional[o++] = id;
            }
        }
        return new RegisterProblem(key, source, mandatory, optional, Long.MIN_VALUE);
    }

    /** Whether {@code v} is dead once every mandatory index below {@code firstUnlinearized} is linearized. */
    boolean dead(int v, int firstUnlinearized) {
        return lastObserver[v] < firstUnlinearized;
    }

    /** The real value a folded one stands for; {@code null} for absent, and for {@link #unobserved}. */
    String valueName(int v) {
        return valueNames[v];
    }

    /** Whether the register, holding {@code state}, gives mandatory operation {@code i} its answer. */
    boolean allowed(int state, int i) {
        return switch (kind[i]) {
            case READ -> state == value[i];
            case WRITE -> true;
            default -> result[i] == (state == expected[i]);
        };
    }

    /** The register after mandatory operation {@code i}, which must be allowed, acts on {@code state}. */
    int after(int state, int i) {
        return switch (kind[i]) {
            case READ -> state;
            case WRITE -> value[i];
            default -> state == expected[i] ? value[i] : state;
        };
    }

    /** The register after an operation of optional shape {@code s} acts on {@code state}. */
    int afterShape(int state, int s) {
        if (shapeKind[s] == WRITE) {
            return shapeValue[s];
        }
        return state == shapeExpected[s] ? shapeValue[s] : state;
    }

    private int lastCallAtOrBefore(long time) {
        int lo = 0;
        int hi = knownCount - 1;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (call[mid] <= time) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    private static byte code(OpKind kind) {
        return switch (kind) {
            case READ -> READ;
            case WRITE -> WRITE;
            case CAS -> CAS;
        };
    }

    private static void intern(Map<String, Integer> observed, List<String> names, String value) {
        // HashMap takes a null key: absent is a value like any other.
        if (!observed.containsKey(value)) {
            observed.put(value, names.size());
            names.add(value);
        }
    }

    private int fold(Map<String, Integer> observed, String v) {
        Integer id = observed.get(v);
        return id != null ? id : unobserved;
    }

    /** Per value v: the shapes {@code sh} with {@code include(sh)} and {@code key[sh] == v}. */
    private int[][] shapesBy(int[] key, IntPredicate include) {
        int[] count = new int[valueCount];
        for (int sh = 0; sh < shapeCount; sh++) {
            if (include.test(sh)) {
                count[key[sh]]++;
            }
        }
        int[][] out = new int[valueCount][];
        for (int v = 0; v < valueCount; v++) {
            out[v] = count[v] == 0 ? NONE : new int[count[v]];
            count[v] = 0;
        }
        for (int sh = 0; sh < shapeCount; sh++) {
            if (include.test(sh)) {
                out[key[sh]][count[key[sh]]++] = sh;
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format("register %s: %d mandatory, %d optional shapes, %d values",
                key, knownCount, shapeCount, valueCount);
    }
}
