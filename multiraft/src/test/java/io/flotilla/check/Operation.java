package io.flotilla.check;

import io.flotilla.raft.Check;

/**
 * One client operation on one key's register as the client saw it: what it asked, what it got
 * back, and when it called and when the answer arrived. An immutable value, safe to share between
 * threads.
 *
 * <p>Per kind: READ has {@code value} = the value read ({@code null} = absent); WRITE has
 * {@code value} = the value written; CAS compares with {@code expected} and sets {@code value},
 * and {@code result} says whether it swapped. {@code expected} must be {@code null} for READ and
 * WRITE, and {@code result} means something only for CAS.
 *
 * <p>{@code known == false} means the client never learned the outcome (it timed out, the leader
 * crashed): the operation may take effect at any point after its call, or never. Its
 * {@code returnTime} and {@code result} are then ignored; the checker treats the return as
 * happening at +infinity. A READ with an unknown outcome carries no information and is dropped.
 *
 * <p>Times are in any unit, the same for the whole history. Real-time order: {@code a} precedes
 * {@code b} iff {@code a.returnTime < b.callTime}; a return and a call at the same instant are
 * concurrent.
 */
public record Operation(int clientId, String key, OpKind kind, String expected, String value,
                        boolean known, boolean result, long callTime, long returnTime) {
    public Operation {
        Check.argument(key != null, "operation of client %d has no key", clientId);
        Check.argument(kind != null, "operation of client %d on key %s has no kind", clientId, key);
        Check.argument(kind == OpKind.CAS || expected == null,
                "%s of client %d on key %s carries expected value %s; only CAS compares",
                kind, clientId, key, expected);
        Check.argument(!known || callTime <= returnTime,
                "%s of client %d on key %s returned at %d before its call at %d",
                kind, clientId, key, returnTime, callTime);
    }

    /** A READ that returned {@code observed} ({@code null} = the key was absent). */
    public static Operation read(int clientId, String key, String observed, long callTime, long returnTime) {
        return new Operation(clientId, key, OpKind.READ, null, observed, true, false, callTime, returnTime);
    }

    /** A WRITE of {@code value} that the client saw succeed. */
    public static Operation write(int clientId, String key, String value, long callTime, long returnTime) {
        return new Operation(clientId, key, OpKind.WRITE, null, value, true, false, callTime, returnTime);
    }

    /** A CAS from {@code expected} to {@code value} whose answer ({@code swapped}) the client received. */
    public static Operation cas(int clientId, String key, String expected, String value, boolean swapped,
                                long callTime, long returnTime) {
        return new Operation(clientId, key, OpKind.CAS, expected, value, true, swapped, callTime, returnTime);
    }

    /** A WRITE whose client never learned whether it took effect. */
    public static Operation unknownWrite(int clientId, String key, String value, long callTime) {
        return new Operation(clientId, key, OpKind.WRITE, null, value, false, false,
                callTime, Long.MAX_VALUE);
    }

    /** A CAS whose client never learned whether it took effect, nor whether it swapped. */
    public static Operation unknownCas(int clientId, String key, String expected, String value,
                                       long callTime) {
        return new Operation(clientId, key, OpKind.CAS, expected, value, false, false,
                callTime, Long.MAX_VALUE);
    }

    /** The return time the checker uses: +infinity when the outcome is unknown. */
    long effectiveReturnTime() {
        return known ? returnTime : Long.MAX_VALUE;
    }
}
