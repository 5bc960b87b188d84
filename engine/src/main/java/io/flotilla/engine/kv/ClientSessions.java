package io.flotilla.engine.kv;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.flotilla.engine.proto.SessionRecord;
import io.flotilla.engine.proto.WriteResult;
import java.nio.ByteBuffer;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The client sessions of one group, which make writes exactly-once: a client numbers its writes 1, 2,
 * 3... (one sequence across ranges; a range sees some of the numbers) and the group keeps, per client, the results of the sequences the client has not
 * acknowledged yet, so a retried write gets its first answer back instead of applying again. Every
 * change is written in the round's batch with the keys (metadata records), so sessions are part of
 * the group's durable state and of its snapshots (a changed session's record is written once per
 * round, by {@link #writeChanged}). Owned by the group's worker.
 *
 * <p><b>The rule</b> (every input comes from the log, so every replica decides the same):
 * <ol>
 *   <li>The group's log time is the largest {@code proposed_at_ms} of the commands applied so far.
 *   <li>Before each client write, every session unused for more than {@link SessionConfig#ttlMs()}
 *       of log time (its last write's log time is more than the TTL below the current log time)
 *       expires: it and its results are deleted.
 *   <li>A write names {@code first_unacked_sequence}: results of lower sequences are forgotten.
 *   <li>A write whose (client, sequence) has a result is answered with it and not applied again.
 *       One below the session's first unacknowledged sequence (its answer was already acknowledged
 *       and forgotten) is refused with an Internal error and not applied.
 *   <li>A write of a client without a session that says {@code session_established} (the client has
 *       had an applied write's result from this range) gets SessionExpired: it had a session, which
 *       expired; its unanswered writes may or may not have applied, and applying them now could apply
 *       twice. Without that flag the write opens a session. ({@code first_unacked_sequence > 1} is no
 *       evidence of a session: a client also moves it past writes it gave up on, which may never have
 *       applied; that rule refused thousands of writes in an overloaded demo run.)
 *   <li>A new session beyond {@link SessionConfig#maxSessionsPerGroup()} is refused with Busy: every
 *       session left is younger than the TTL (older ones expired at step 2), and evicting a young
 *       session could let one of its retries apply twice. A session holding
 *       {@link #MAX_RESULTS_PER_SESSION} unacknowledged results refuses more with Busy too.
 *   <li>Only writes that applied are recorded (a result that is an error changed nothing, so a retry
 *       may apply). Recording sets the session's last use to the current log time.
 * </ol>
 * A retry is therefore exactly-once as long as the client stops retrying a write within the TTL of
 * first sending it (its deadline is far shorter).
 */
final class ClientSessions {
    /** Unacknowledged results one session keeps at most: a client that pipelines deeper gets Busy. */
    static final int MAX_RESULTS_PER_SESSION = 4096;
    static final int BUSY_RETRY_MS = 100;
    static final ByteString SESSION_PREFIX = ByteString.copyFromUtf8("s");
    static final ByteString RESULT_PREFIX = ByteString.copyFromUtf8("r");

    /** One client's session. */
    private static final class Session {
        final long clientId;
        long lastUsedMs;
        long firstUnackedSequence;
        final TreeMap<Long, WriteResult> results = new TreeMap<>();
        /** Changed this round: its record is written by {@link #writeChanged}. */
        boolean changed;

        Session(long clientId) {
            this.clientId = clientId;
        }
    }

    /** Least recently used first; ties (same log time) by client id, so every replica orders alike. */
    private static final Comparator<Session> BY_LAST_USE =
            Comparator.comparingLong((Session s) -> s.lastUsedMs).thenComparingLong(s -> s.clientId);

    private final SessionConfig config;
    private final long groupId;
    private final Map<Long, Session> byClient = new HashMap<>();
    private final TreeSet<Session> byLastUse = new TreeSet<>(BY_LAST_USE);
    /**
     * Sessions changed in the current round. Their records are written once, at the end of the round
     * ({@link #writeChanged}), not once per write: a round of n writes of one client changed its
     * record 2n times, each a RocksDB memtable insert.
     */
    private final java.util.ArrayList<Session> changed = new java.util.ArrayList<>();

    private ClientSessions(SessionConfig config, long groupId) {
        this.config = config;
        this.groupId = groupId;
    }

    /** An empty table. */
    static ClientSessions empty(SessionConfig config, long groupId) {
        return new ClientSessions(config, groupId);
    }

    /** The group's sessions as stored. */
    static ClientSessions load(SessionConfig config, long groupId, KvStore store) {
        ClientSessions sessions = new ClientSessions(config, groupId);
        store.forEachMeta(groupId, SESSION_PREFIX, (key, value) -> {
            SessionRecord r = parse(groupId, value);
            Session s = new Session(r.getClientId());
            s.lastUsedMs = r.getLastUsedMs();
            s.firstUnackedSequence = r.getFirstUnackedSequence();
            sessions.byClient.put(s.clientId, s);
            sessions.byLastUse.add(s);
        });
        store.forEachMeta(groupId, RESULT_PREFIX, (key, value) -> {
            ByteBuffer k = key.asReadOnlyByteBuffer();
            k.get();
            Session s = sessions.byClient.get(k.getLong());
            if (s == null) {
                throw new IllegalStateException("range " + groupId + " stores a write result of client "
                        + Long.toHexString(key.substring(1, 9).asReadOnlyByteBuffer().getLong()) + " without its session");
            }
            try {
                s.results.put(k.getLong(), WriteResult.parseFrom(value));
            } catch (InvalidProtocolBufferException e) {
                throw new IllegalStateException("range " + groupId + " stores a write result that does not parse", e);
            }
        });
        return sessions;
    }

    private static SessionRecord parse(long groupId, ByteString value) {
        try {
            return SessionRecord.parseFrom(value);
        } catch (InvalidProtocolBufferException e) {
            throw new IllegalStateException("range " + groupId + " stores a client session that does not parse", e);
        }
    }

    /**
     * Decides what becomes of a client's write before it applies (steps 2 to 6 of the rule).
     *
     * @return the answer to give without applying (a retry's recorded result, or an error), or null:
     *         apply the write, then {@link #record} its result if it is not an error
     */
    WriteResult admit(long clientId, long sequence, long firstUnackedSequence, boolean sessionEstablished, long logTimeMs,
            KvStore.GroupWrite w) {
        expire(logTimeMs, w);
        Session s = byClient.get(clientId);
        if (s != null) {
            forgetBelow(s, firstUnackedSequence, w);
            WriteResult recorded = s.results.get(sequence);
            if (recorded != null) {
                touch(s, logTimeMs, w);
                return recorded;
            }
            if (sequence < s.firstUnackedSequence) {
                return error(KvErrors.internal("write " + sequence + " of client " + Long.toHexString(clientId) + " in range "
                        + groupId + " was already answered and acknowledged (the client's first unacknowledged write is "
                        + s.firstUnackedSequence + "); it is not applied again. This is a client bug"));
            }
            if (s.results.size() >= MAX_RESULTS_PER_SESSION) {
                return error(KvErrors.busy(BUSY_RETRY_MS, "client " + Long.toHexString(clientId) + " has "
                        + s.results.size() + " unacknowledged writes in range " + groupId + ", the most a session keeps"));
            }
            return null;
        }
        if (sessionEstablished) {
            return error(KvErrors.sessionExpired(clientId, groupId));
        }
        if (byClient.size() >= config.maxSessionsPerGroup()) {
            Session oldest = byLastUse.first();
            long ageMs = logTimeMs - oldest.lastUsedMs;
            return error(KvErrors.busy((int) Math.min(Integer.MAX_VALUE, Math.max(BUSY_RETRY_MS, config.ttlMs() - ageMs)),
                    "range " + groupId + " holds " + byClient.size() + " client sessions, its limit, all used within the"
                            + " last " + config.ttlMs() + " ms"));
        }
        return null;
    }

    /** Records the result of a write that applied (step 7), creating the client's session if it has none. */
    void record(long clientId, long sequence, long firstUnackedSequence, long logTimeMs, WriteResult result,
            KvStore.GroupWrite w) {
        Session s = byClient.get(clientId);
        if (s == null) {
            s = new Session(clientId);
            s.firstUnackedSequence = firstUnackedSequence;
            byClient.put(clientId, s);
        } else {
            byLastUse.remove(s);
        }
        s.lastUsedMs = logTimeMs;
        byLastUse.add(s);
        s.results.put(sequence, result);
        w.putMeta(resultKey(clientId, sequence), result.toByteString());
        writeSession(s, w);
    }

    private void expire(long logTimeMs, KvStore.GroupWrite w) {
        while (!byLastUse.isEmpty() && logTimeMs - byLastUse.first().lastUsedMs > config.ttlMs()) {
            Session s = byLastUse.pollFirst();
            byClient.remove(s.clientId);
            if (s.changed) {
                s.changed = false;
                changed.remove(s);
            }
            for (long sequence : s.results.keySet()) {
                w.deleteMeta(resultKey(s.clientId, sequence));
            }
            w.deleteMeta(sessionKey(s.clientId));
        }
    }

    private void forgetBelow(Session s, long firstUnackedSequence, KvStore.GroupWrite w) {
        if (firstUnackedSequence <= s.firstUnackedSequence) {
            return;
        }
        s.firstUnackedSequence = firstUnackedSequence;
        NavigableMap<Long, WriteResult> acknowledged = s.results.headMap(firstUnackedSequence, false);
        for (long sequence : acknowledged.keySet()) {
            w.deleteMeta(resultKey(s.clientId, sequence));
        }
        acknowledged.clear();
        writeSession(s, w);
    }

    private void touch(Session s, long logTimeMs, KvStore.GroupWrite w) {
        if (s.lastUsedMs != logTimeMs) {
            byLastUse.remove(s);
            s.lastUsedMs = logTimeMs;
            byLastUse.add(s);
            writeSession(s, w);
        }
    }

    /** Marks the session's record to be written at the end of the round. */
    private void writeSession(Session s, KvStore.GroupWrite w) {
        if (!s.changed) {
            s.changed = true;
            changed.add(s);
        }
    }

    /** Writes the records of the sessions changed since the last call; call once per round, before its commit. */
    void writeChanged(KvStore.GroupWrite w) {
        for (int i = 0; i < changed.size(); i++) {
            Session s = changed.get(i);
            s.changed = false;
            w.putMeta(sessionKey(s.clientId), SessionRecord.newBuilder().setClientId(s.clientId).setLastUsedMs(s.lastUsedMs)
                    .setFirstUnackedSequence(s.firstUnackedSequence).build().toByteString());
        }
        changed.clear();
    }

    private static WriteResult error(io.flotilla.kv.proto.Error e) {
        return WriteResult.newBuilder().setError(e).build();
    }

    static ByteString sessionKey(long clientId) {
        return SESSION_PREFIX.concat(ByteString.copyFrom(ByteBuffer.allocate(8).putLong(clientId).flip()));
    }

    static ByteString resultKey(long clientId, long sequence) {
        return RESULT_PREFIX.concat(ByteString.copyFrom(ByteBuffer.allocate(16).putLong(clientId).putLong(sequence).flip()));
    }

    int size() {
        return byClient.size();
    }

    boolean has(long clientId) {
        return byClient.containsKey(clientId);
    }
}
