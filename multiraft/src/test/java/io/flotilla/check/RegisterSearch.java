package io.flotilla.check;

import io.flotilla.raft.Check;

import java.util.Arrays;

/**
 * The linearizability search over one {@link RegisterProblem}: Wing &amp; Gong's depth-first
 * search with Lowe's memoization, as Porcupine does, reduced so that its cost follows the
 * choices a history really leaves open. Used by the thread that created it; {@link #advance}
 * may be called again after it returns {@link Status#STALLED} or {@link Status#OUT_OF_STEPS}.
 *
 * <p>Mandatory operations sit in a doubly linked list of call and return events sorted by time;
 * the candidates at a state are the calls before the first return (nothing called after an
 * operation returned may go before it). Every reduction below keeps a linearization if there
 * is one; each drops only orders that another explored order dominates:
 * <ul>
 *   <li><b>Forced moves.</b> A READ or a failed CAS that the register allows now goes now: it does
 *       not change the value, and as a candidate nothing left must precede it, so moving it to
 *       the front of any linearization of the rest keeps that linearization valid. The search
 *       branches only on operations that change the value.
 *   <li><b>Optional operations only where needed.</b> In any linearization a run of optional
 *       operations can be moved later (they never return, so nothing must follow them) until
 *       it sits right before a READ or CAS the register would not allow without it; before a
 *       WRITE, at the end, or before an operation it does not enable, the run can be dropped.
 *       So a run is tried only to enable a blocked candidate, as a chain: one WRITE or CAS out
 *       of the current value, then CASes, no value visited twice (a loop, or a WRITE after the
 *       first step, makes the earlier part useless).
 *   <li><b>Orphaned readers.</b> Moving the value off x while a READ of x (or a CAS that swapped
 *       from x) is still to go, and nothing left can produce x, is a dead end at once.
 *   <li><b>Twins and dead values.</b> Optional operations of one shape are used in order of
 *       availability; and once nothing left can tell a value apart ({@link RegisterProblem#dead}),
 *       every dead value is the same value and every WRITE of one the same WRITE, so the memo
 *       key folds them together.
 * </ul>
 *
 * <p>A step is one option tried (a move into a new state); forced moves, skipped candidates and
 * pruned states cost nothing but the time to look at them.
 */
final class RegisterSearch {
    /** What {@link #advance} stopped on. */
    enum Status {
        /** Every mandatory operation is linearized: {@link #order()} is a witness. */
        FOUND,
        /** Every state was explored: there is no linearization. */
        EXHAUSTED,
        /** The step limit was reached; call again with a higher limit to go on. */
        OUT_OF_STEPS,
        /** No deeper state for {@link #stallSteps(long)} steps; call again to go on. */
        STALLED
    }

    /** Class of a dead-valued WRITE in a canonical used-count array; CAS classes are -2 - expected. */
    private static final int DEAD_WRITE = -1;

    private final RegisterProblem pb;
    private final StateMemo memo;

    /** Events: 2k is the call of mandatory operation k, 2k+1 its return; {@link #head} is the sentinel. */
    private final int[] next;
    private final int[] prev;
    private final int head;
    /** Bit k set iff mandatory operation k is linearized. */
    private final long[] linearized;
    private int knownLeft;
    private int state;
    /** Per value: unlinearized mandatory READs of it and swapped CASes from it. */
    private final int[] readersLeft;
    /** Per value: mandatory and optional operations left that could set it. */
    private final int[] producersLeft;
    /** Set when the current option orphaned a reader; cleared before each option. */
    private boolean orphaned;
    private int orphanedValue;
    /** The value whose readers the deepest orphaning state left behind, or -1. */
    private int bestOrphanValue = -1;
    private int bestOrphanKnown = -1;

    /** Per shape: how many of its operations the current path used. */
    private final int[] used;
    /** The shapes of the optional operations on the current path, in the order used. */
    private final int[] usedStack;
    private int usedTop;

    /** The current linearization: a mandatory index, or -(shape + 1) for an optional operation. */
    private final int[] pathRef;
    /** The same path as operation ids in {@link RegisterProblem#source}. */
    private final int[] pathOp;
    private int pathLen;

    private Frame[] frames = new Frame[16];
    private int depth = -1;

    private long steps;
    private long stepsAtBest;
    private long stallSteps = Long.MAX_VALUE;

    /** The deepest path found, by mandatory operations linearized (see {@link #undoTo}). */
    private final int[] bestOp;
    private int bestLen;
    private int bestSavedFrom;
    private int bestKnown = -1;
    private int bestFirstUnlinearized;
    private long bestFirstReturn;
    private long bestLastCandidateReturn;

    /** Scratch for run enumeration. */
    private final boolean[] visited;
    private final int[] chain;
    private int chainLen;
    private int[] classScratch = new int[16];

    /**
     * A search of {@code pb} from register value {@code initialState}. Searches of one problem
     * may share {@code memo}: a state that failed fails whatever value the register started with.
     */
    RegisterSearch(RegisterProblem pb, int initialState, StateMemo memo) {
        this.pb = pb;
        this.memo = memo;
        int n = pb.knownCount;
        this.next = new int[2 * n + 1];
        this.prev = new int[2 * n + 1];
        this.head = 2 * n;
        this.linearized = new long[(n + 63) >>> 6];
        this.knownLeft = n;
        this.state = initialState;
        this.used = new int[pb.shapeCount];
        int optional = 0;
        for (int[] ops : pb.shapeOps) {
            optional += ops.length;
        }
        this.usedStack = new int[optional];
        this.pathRef = new int[n + optional];
        this.pathOp = new int[n + optional];
        this.bestOp = new int[n + optional];
        this.readersLeft = new int[pb.valueCount];
        this.producersLeft = new int[pb.valueCount];
        for (int k = 0; k < n; k++) {
            if (pb.kind[k] == RegisterProblem.READ) {
                readersLeft[pb.value[k]]++;
            } else if (pb.kind[k] == RegisterProblem.CAS && pb.result[k]) {
                readersLeft[pb.expected[k]]++;
                producersLeft[pb.value[k]]++;
            } else if (pb.kind[k] == RegisterProblem.WRITE) {
                producersLeft[pb.value[k]]++;
            }
        }
        for (int s = 0; s < pb.shapeCount; s++) {
            producersLeft[pb.shapeValue[s]] += pb.shapeOps[s].length;
        }
        this.visited = new boolean[pb.valueCount];
        this.chain = new int[pb.valueCount + 1];
        linkEvents();
    }

    /** Stop with {@link Status#STALLED} once this many steps pass without a deeper state. */
    void stallSteps(long stallSteps) {
        this.stallSteps = stallSteps;
    }

    /** Searches until a verdict, or until {@code stepLimit} steps in total, or a stall. */
    Status advance(long stepLimit) {
        if (depth < 0) {
            closure();
            pushFrame(null, null);
            noteBest();
        }
        while (true) {
            if (knownLeft == 0) {
                return Status.FOUND;
            }
            if (steps >= stepLimit) {
                return Status.OUT_OF_STEPS;
            }
            if (steps - stepsAtBest >= stallSteps) {
                return Status.STALLED;
            }
            Frame f = frames[depth];
            int option = f.nextOption(this);
            if (option < 0) {
                if (depth == 0) {
                    return Status.EXHAUSTED;
                }
                memo.fail(f.key, f.used);
                depth--;
                Frame back = frames[depth];
                undoTo(back.pathLen);
                state = back.state;
                continue;
            }
            steps++;
            apply(f, option);
            // Before any pruning, so that the report shows how far the history does go.
            noteBest();
            if (orphaned) {
                int known = pb.knownCount - knownLeft;
                if (known > bestOrphanKnown) {
                    bestOrphanKnown = known;
                    bestOrphanValue = orphanedValue;
                }
                undoTo(f.pathLen);
                state = f.state;
                continue;
            }
            if (knownLeft == 0) {
                noteBest();
                return Status.FOUND;
            }
            int p = firstUnlinearized();
            StateMemo.Key key = key(p);
            int[] usedClasses = usedClasses(p);
            if (memo.dominated(key, usedClasses)) {
                undoTo(f.pathLen);
                state = f.state;
                continue;
            }
            pushFrame(key, usedClasses);
            noteBest();
        }
    }

    long steps() {
        return steps;
    }

    int memoEntries() {
        return memo.size();
    }

    long memoClears() {
        return memo.clears();
    }

    /** The linearization found, as operation ids; valid after {@link Status#FOUND}. */
    int[] order() {
        return Arrays.copyOf(pathOp, pathLen);
    }

    /** The deepest linearization prefix found, as operation ids. */
    int[] bestOrder() {
        int[] order = new int[bestLen];
        for (int i = 0; i < bestLen; i++) {
            order[i] = i < bestSavedFrom ? pathOp[i] : bestOp[i];
        }
        return order;
    }

    /** The first mandatory index not linearized in the deepest prefix. */
    int bestFirstUnlinearized() {
        return bestFirstUnlinearized;
    }

    /**
     * The value whose READs (or swapped CASes) the deepest dead end left with nothing to
     * produce it again, or -1: where a search that stalls is most likely stuck.
     */
    int bestOrphanValue() {
        return bestOrphanValue;
    }

    /** In the deepest prefix: the first return among what is left. */
    long bestFirstReturn() {
        return bestFirstReturn;
    }

    /** In the deepest prefix: the last return among the candidates (the calls before the first return). */
    long bestLastCandidateReturn() {
        return bestLastCandidateReturn;
    }

    // ---- moves ----

    private void apply(Frame f, int option) {
        int[] buf = f.options;
        orphaned = false;
        int runLength = buf[option];
        for (int j = 1; j <= runLength; j++) {
            useShape(buf[option + j]);
        }
        linearize(buf[option + runLength + 1]);
        closure();
    }

    /** Linearizes every candidate READ and failed CAS the register allows (the forced moves). */
    private void closure() {
        int e = next[head];
        while (e != head && (e & 1) == 0) {
            int k = e >>> 1;
            byte kind = pb.kind[k];
            boolean forced = kind == RegisterProblem.READ
                    ? pb.value[k] == state
                    : kind == RegisterProblem.CAS && !pb.result[k] && pb.expected[k] != state;
            if (forced) {
                int before = prev[e];
                linearize(k);
                e = next[before];
            } else {
                e = next[e];
            }
        }
    }

    private void linearize(int k) {
        Check.state(pb.allowed(state, k), "search bug: %s not allowed at register value %s", k, state);
        unlink(2 * k);
        unlink(2 * k + 1);
        linearized[k >>> 6] |= 1L << k;
        knownLeft--;
        countKnown(k, -1);
        moveTo(pb.after(state, k));
        pathRef[pathLen] = k;
        pathOp[pathLen] = pb.knownId[k];
        pathLen++;
    }

    private void useShape(int s) {
        int n = used[s];
        pathRef[pathLen] = -(s + 1);
        pathOp[pathLen] = pb.shapeOps[s][n];
        pathLen++;
        used[s] = n + 1;
        usedStack[usedTop++] = s;
        producersLeft[pb.shapeValue[s]]--;
        moveTo(pb.afterShape(state, s));
    }

    private void moveTo(int newState) {
        if (newState != state && readersLeft[state] > 0 && producersLeft[state] == 0 && !orphaned) {
            orphaned = true;
            orphanedValue = state;
        }
        state = newState;
    }

    /** Adds {@code delta} to the reader and producer counts of mandatory operation k. */
    private void countKnown(int k, int delta) {
        switch (pb.kind[k]) {
            case RegisterProblem.READ -> readersLeft[pb.value[k]] += delta;
            case RegisterProblem.WRITE -> producersLeft[pb.value[k]] += delta;
            default -> {
                if (pb.result[k]) {
                    readersLeft[pb.expected[k]] += delta;
                    producersLeft[pb.value[k]] += delta;
                }
            }
        }
    }

    /**
     * Undoes the path down to {@code length} entries, in reverse order so the event links come
     * back exactly. Before it overwrites entries of the deepest prefix it saves them, so that
     * the deepest prefix costs a copy only of what backtracking discards.
     */
    private void undoTo(int length) {
        if (length < bestSavedFrom) {
            System.arraycopy(pathOp, length, bestOp, length, bestSavedFrom - length);
            bestSavedFrom = length;
        }
        while (pathLen > length) {
            pathLen--;
            int ref = pathRef[pathLen];
            if (ref >= 0) {
                relink(2 * ref + 1);
                relink(2 * ref);
                linearized[ref >>> 6] &= ~(1L << ref);
                knownLeft++;
                countKnown(ref, 1);
            } else {
                int s = -ref - 1;
                used[s]--;
                usedTop--;
                producersLeft[pb.shapeValue[s]]++;
            }
        }
    }

    private void unlink(int e) {
        next[prev[e]] = next[e];
        prev[next[e]] = prev[e];
    }

    /** Puts back an event unlinked last; its own links still name its old neighbours. */
    private void relink(int e) {
        next[prev[e]] = e;
        prev[next[e]] = e;
    }

    private void linkEvents() {
        int n = pb.knownCount;
        // Calls come in index order already; returns are sorted by time, then index. At equal
        // times calls go before returns: an operation returning at t and one called at t are
        // concurrent, so either may go first.
        int[] returns = new int[n];
        for (int k = 0; k < n; k++) {
            returns[k] = k;
        }
        sortByReturn(returns, new int[n], 0, n);
        int last = head;
        int c = 0;
        int r = 0;
        while (c < n || r < n) {
            int e = r == n || (c < n && pb.call[c] <= pb.ret[returns[r]]) ? 2 * c++ : 2 * returns[r++] + 1;
            next[last] = e;
            prev[e] = last;
            last = e;
        }
        next[last] = head;
        prev[head] = last;
    }

    /** A stable merge sort of {@code a[from..to)} by return time; the input is in index order. */
    private void sortByReturn(int[] a, int[] scratch, int from, int to) {
        if (to - from < 2) {
            return;
        }
        int mid = (from + to) >>> 1;
        sortByReturn(a, scratch, from, mid);
        sortByReturn(a, scratch, mid, to);
        if (pb.ret[a[mid - 1]] <= pb.ret[a[mid]]) {
            return;
        }
        System.arraycopy(a, from, scratch, from, to - from);
        int i = from;
        int j = mid;
        for (int o = from; o < to; o++) {
            a[o] = j == to || (i < mid && pb.ret[scratch[i]] <= pb.ret[scratch[j]]) ? scratch[i++] : scratch[j++];
        }
    }

    private long time(int e) {
        return (e & 1) == 0 ? pb.call[e >>> 1] : pb.ret[e >>> 1];
    }

    /** Calls come in index order and an operation's call precedes its return, so the first event is a call. */
    private int firstUnlinearized() {
        return next[head] >>> 1;
    }

    // ---- memo keys ----

    /**
     * The state's key: the first unlinearized index p, the value (-1 when dead) and the
     * linearized bits in (p, reach[p]], trailing zero words trimmed.
     */
    private StateMemo.Key key(int p) {
        int from = p + 1;
        int bitCount = pb.reach[p] - p;
        int words = bitCount > 0 ? (bitCount + 63) >>> 6 : 0;
        long[] w = new long[2 + words];
        w[0] = p;
        w[1] = pb.dead(state, p) ? -1 : state;
        int last = 1;
        for (int i = 0; i < words; i++) {
            long bits = bitsAt(from + 64 * i);
            int remaining = bitCount - 64 * i;
            if (remaining < 64) {
                bits &= (1L << remaining) - 1;
            }
            w[2 + i] = bits;
            if (bits != 0) {
                last = 2 + i;
            }
        }
        return new StateMemo.Key(last + 1 == w.length ? w : Arrays.copyOf(w, last + 1));
    }

    private long bitsAt(int start) {
        int word = start >>> 6;
        int offset = start & 63;
        if (word >= linearized.length) {
            return 0;
        }
        long bits = linearized[word] >>> offset;
        if (offset != 0 && word + 1 < linearized.length) {
            bits |= linearized[word + 1] << (64 - offset);
        }
        return bits;
    }

    /**
     * The used optional operations as sorted (class, count) pairs. A shape whose value is live
     * is its own class; a WRITE of a dead value is {@link #DEAD_WRITE}; a CAS to a dead value is
     * -2 - its expected value, or nothing at all when that is dead too (it can never matter).
     */
    private int[] usedClasses(int p) {
        int n = 0;
        int deadWrites = 0;
        for (int i = 0; i < usedTop; i++) {
            int s = usedStack[i];
            int cls;
            if (!pb.dead(pb.shapeValue[s], p)) {
                cls = s;
            } else if (pb.shapeKind[s] == RegisterProblem.WRITE) {
                deadWrites++;
                continue;
            } else if (!pb.dead(pb.shapeExpected[s], p)) {
                cls = -2 - pb.shapeExpected[s];
            } else {
                continue;
            }
            if (n == classScratch.length) {
                classScratch = Arrays.copyOf(classScratch, 2 * n);
            }
            classScratch[n++] = cls;
        }
        if (n == 0 && deadWrites == 0) {
            return new int[0];
        }
        Arrays.sort(classScratch, 0, n);
        int[] out = new int[2 * (n + 1)];
        int o = 0;
        boolean deadWritesOut = deadWrites == 0;
        for (int i = 0; i < n; ) {
            int cls = classScratch[i];
            if (!deadWritesOut && cls > DEAD_WRITE) {
                out[o++] = DEAD_WRITE;
                out[o++] = deadWrites;
                deadWritesOut = true;
            }
            int j = i;
            while (j < n && classScratch[j] == cls) {
                j++;
            }
            out[o++] = cls;
            out[o++] = j - i;
            i = j;
        }
        if (!deadWritesOut) {
            out[o++] = DEAD_WRITE;
            out[o++] = deadWrites;
        }
        return o == out.length ? out : Arrays.copyOf(out, o);
    }

    // ---- frames and options ----

    private void pushFrame(StateMemo.Key key, int[] usedClasses) {
        depth++;
        if (depth == frames.length) {
            frames = Arrays.copyOf(frames, 2 * depth);
        }
        Frame f = frames[depth];
        if (f == null) {
            f = new Frame();
            frames[depth] = f;
        }
        f.reset(pathLen, state, key, usedClasses);
    }

    private void noteBest() {
        int known = pb.knownCount - knownLeft;
        if (known <= bestKnown) {
            return;
        }
        bestKnown = known;
        bestLen = pathLen;
        bestSavedFrom = pathLen;
        stepsAtBest = steps;
        if (knownLeft > 0) {
            bestFirstUnlinearized = firstUnlinearized();
            long last = Long.MIN_VALUE;
            int e = next[head];
            while ((e & 1) == 0) {
                last = Math.max(last, pb.ret[e >>> 1]);
                e = next[e];
            }
            bestFirstReturn = pb.ret[e >>> 1];
            bestLastCandidateReturn = last;
        }
    }

    private boolean available(int shape, long firstReturn) {
        int n = used[shape];
        return n < pb.shapeAvailable[shape].length && pb.shapeAvailable[shape][n] <= firstReturn;
    }

    /** Phase 0: the candidates that change the value, wanted ones first, then by return. */
    private void knownOptions(Frame f) {
        int e = next[head];
        while ((e & 1) == 0) {
            int k = e >>> 1;
            byte kind = pb.kind[k];
            if (kind == RegisterProblem.WRITE || (kind == RegisterProblem.CAS && pb.result[k] && pb.expected[k] == state)) {
                f.addCandidate(k);
            } else if (!pb.allowed(state, k)) {
                f.addBlocked(k);
            }
            e = next[e];
        }
        f.firstReturn = pb.ret[e >>> 1];
        f.sortCandidates(pb);
        for (int i = 0; i < f.candidateCount; i++) {
            f.addOption(0, f.candidates[i]);
        }
    }

    /** Phase 1: for each blocked candidate, every run of optional operations that enables it. */
    private void runOptions(Frame f) {
        for (int i = 0; i < f.blockedCount; i++) {
            int k = f.blocked[i];
            if (pb.kind[k] == RegisterProblem.CAS && !pb.result[k]) {
                forwardRuns(f, k);
            } else {
                int target = pb.kind[k] == RegisterProblem.READ ? pb.value[k] : pb.expected[k];
                visited[target] = true;
                visited[state] = true;
                chainLen = 0;
                backwardRuns(f, target, k);
                visited[target] = false;
                visited[state] = false;
            }
        }
    }

    /** Runs from the current value to {@code target}, built from the end: chain holds the CASes after the head. */
    private void backwardRuns(Frame f, int target, int k) {
        for (int w : pb.writesTo[target]) {
            if (available(w, f.firstReturn)) {
                emitBackward(f, w, k);
            }
        }
        for (int c : pb.casTo[target]) {
            if (!available(c, f.firstReturn)) {
                continue;
            }
            int from = pb.shapeExpected[c];
            if (from == state) {
                emitBackward(f, c, k);
            } else if (!visited[from]) {
                visited[from] = true;
                chain[chainLen++] = c;
                backwardRuns(f, from, k);
                chainLen--;
                visited[from] = false;
            }
        }
    }

    private void emitBackward(Frame f, int first, int k) {
        int at = f.beginOption(chainLen + 1);
        f.options[at++] = first;
        for (int j = chainLen - 1; j >= 0; j--) {
            f.options[at++] = chain[j];
        }
        f.options[at] = k;
    }

    /**
     * Runs that move the value off a failed CAS's expected value, which the register holds: any
     * chain out of it. Dead results are all alike, so one WRITE of a dead value stands for all.
     */
    private void forwardRuns(Frame f, int k) {
        int p = firstUnlinearized();
        visited[state] = true;
        chainLen = 0;
        forwardFrom(f, state, k);
        boolean deadDone = false;
        for (int w : pb.writeShapes) {
            int v = pb.shapeValue[w];
            if (v == state || !available(w, f.firstReturn)) {
                continue;
            }
            boolean dead = pb.dead(v, p);
            if (dead && deadDone) {
                continue;
            }
            chain[0] = w;
            chainLen = 1;
            emitForward(f, k);
            if (dead) {
                deadDone = true;
            } else {
                visited[v] = true;
                forwardFrom(f, v, k);
                visited[v] = false;
            }
            chainLen = 0;
        }
        visited[state] = false;
    }

    private void forwardFrom(Frame f, int from, int k) {
        for (int c : pb.casFrom[from]) {
            int v = pb.shapeValue[c];
            if (visited[v] || !available(c, f.firstReturn)) {
                continue;
            }
            chain[chainLen++] = c;
            emitForward(f, k);
            visited[v] = true;
            forwardFrom(f, v, k);
            visited[v] = false;
            chainLen--;
        }
    }

    private void emitForward(Frame f, int k) {
        int at = f.beginOption(chainLen);
        System.arraycopy(chain, 0, f.options, at, chainLen);
        f.options[at + chainLen] = k;
    }

    /**
     * One explored state on the search stack and where its options stand. Reused across the
     * stack's depth; options are generated lazily in two phases, so a state whose first known
     * option works never enumerates runs.
     */
    private static final class Frame {
        int pathLen;
        int state;
        StateMemo.Key key;
        int[] used;
        long firstReturn;
        int phase;
        /** Options, each [run length, shapes..., mandatory index]. */
        int[] options = new int[8];
        int optionsEnd;
        int cursor;
        int[] candidates = new int[8];
        int candidateCount;
        int[] blocked = new int[8];
        private boolean[] wantedScratch = new boolean[8];
        int blockedCount;

        void reset(int pathLen, int state, StateMemo.Key key, int[] used) {
            this.pathLen = pathLen;
            this.state = state;
            this.key = key;
            this.used = used;
            phase = 0;
            optionsEnd = 0;
            cursor = 0;
            candidateCount = 0;
            blockedCount = 0;
        }

        /** The start of the next option in {@link #options}, or -1 when none is left. */
        int nextOption(RegisterSearch search) {
            while (cursor == optionsEnd) {
                if (phase == 0) {
                    search.knownOptions(this);
                } else if (phase == 1) {
                    search.runOptions(this);
                } else {
                    return -1;
                }
                phase++;
            }
            int at = cursor;
            cursor += options[at] + 2;
            return at;
        }

        /** Reserves an option with a run of {@code runLength}; returns where its run starts. */
        int beginOption(int runLength) {
            int size = runLength + 2;
            if (optionsEnd + size > options.length) {
                options = Arrays.copyOf(options, Math.max(2 * options.length, optionsEnd + size));
            }
            options[optionsEnd] = runLength;
            int at = optionsEnd + 1;
            optionsEnd += size;
            return at;
        }

        void addOption(int runLength, int k) {
            int at = beginOption(runLength);
            options[at] = k;
        }

        void addCandidate(int k) {
            if (candidateCount == candidates.length) {
                candidates = Arrays.copyOf(candidates, 2 * candidateCount);
            }
            candidates[candidateCount++] = k;
        }

        void addBlocked(int k) {
            if (blockedCount == blocked.length) {
                blocked = Arrays.copyOf(blocked, 2 * blockedCount);
            }
            blocked[blockedCount++] = k;
        }

        /**
         * Orders the value-changing candidates: first those whose value a blocked READ or CAS
         * wants, then by return time (the one that must take effect soonest). Any order is
         * correct; this one finds a real run's order with little backtracking.
         */
        void sortCandidates(RegisterProblem pb) {
            if (wantedScratch.length < candidateCount) {
                wantedScratch = new boolean[candidates.length];
            }
            for (int i = 0; i < candidateCount; i++) {
                wantedScratch[i] = wanted(pb, candidates[i]);
            }
            // Insertion sort: candidates are few, and mostly in order already.
            for (int i = 1; i < candidateCount; i++) {
                int k = candidates[i];
                boolean w = wantedScratch[i];
                int j = i - 1;
                while (j >= 0 && before(pb, k, w, candidates[j], wantedScratch[j])) {
                    candidates[j + 1] = candidates[j];
                    wantedScratch[j + 1] = wantedScratch[j];
                    j--;
                }
                candidates[j + 1] = k;
                wantedScratch[j + 1] = w;
            }
        }

        private static boolean before(RegisterProblem pb, int a, boolean wantedA, int b, boolean wantedB) {
            if (wantedA != wantedB) {
                return wantedA;
            }
            return pb.ret[a] < pb.ret[b] || (pb.ret[a] == pb.ret[b] && a < b);
        }

        /** Whether a blocked READ wants the value candidate {@code k} writes, or a blocked CAS expects it. */
        private boolean wanted(RegisterProblem pb, int k) {
            for (int j = 0; j < blockedCount; j++) {
                int b = blocked[j];
                if (pb.kind[b] == RegisterProblem.READ ? pb.value[b] == pb.value[k]
                        : pb.result[b] && pb.expected[b] == pb.value[k]) {
                    return true;
                }
            }
            return false;
        }
    }
}
