package io.flotilla.engine.kv;

import static io.flotilla.engine.kv.KvHarness.cas;
import static io.flotilla.engine.kv.KvHarness.delete;
import static io.flotilla.engine.kv.KvHarness.put;
import static io.flotilla.engine.kv.KvHarness.range;
import static io.flotilla.engine.kv.KvHarness.session;
import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.engine.kv.KvHarness.StoreKind;
import io.flotilla.engine.proto.WriteResult;
import io.flotilla.raft.ConfState;
import io.flotilla.raft.SnapshotMetadata;
import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Exactly-once writes: client sessions, their expiry by log time, their bound, and their travel in snapshots. */
class KvSessionsTest {
    private static final long CLIENT = 0x7a7aL;

    @TempDir
    Path dir;

    private KvHarness harness(StoreKind kind, Path where, SessionConfig sessions) {
        KvHarness h = new KvHarness(kind.open(where), KvLimits.defaults(), sessions);
        h.sm.bootstrap(List.of(range(1, "", "", 1)));
        return h;
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aRetryGetsItsFirstResultAndDoesNotApplyAgain(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, SessionConfig.defaults())) {
            WriteResult first = h.write(1, session(cas("k", null, "mine"), CLIENT, 1, 1, 1000));
            assertThat(first.getCompareAndSet().getSucceeded()).isTrue();
            h.write(1, session(put("k", "other"), 99, 1, 1, 1001));
            // The retry, in a later round: the CAS would fail now, and must not run again.
            WriteResult retry = h.write(1, session(cas("k", null, "mine"), CLIENT, 1, 1, 1002));
            assertThat(retry).isEqualTo(first);
            assertThat(h.get(1, "k")).isEqualTo("other");
            // Retried twice in one round alongside new work.
            List<WriteResult> round = h.round(1, session(delete("k"), CLIENT, 2, 1, 1003),
                    session(delete("k"), CLIENT, 2, 1, 1003), session(cas("k", null, "mine"), CLIENT, 1, 1, 1003));
            assertThat(round.get(0).getDelete().getExisted()).isTrue();
            assertThat(round.get(1)).isEqualTo(round.get(0));
            assertThat(round.get(2)).isEqualTo(first);
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void sessionsSurviveARestartOfTheStateMachine(StoreKind kind) {
        Path where = dir.resolve("node");
        KvStore store = kind.open(where);
        KvHarness h = new KvHarness(store);
        h.sm.bootstrap(List.of(range(1, "", "", 1)));
        WriteResult first = h.write(1, session(cas("k", null, "v"), CLIENT, 1, 1, 1000));
        if (kind == StoreKind.ROCKS) {
            ((io.flotilla.engine.rocks.RocksKvStore) store).flushAll();
            store.close();
            store = kind.open(where);
        }
        try (KvHarness again = new KvHarness(store)) {
            assertThat(again.sm.appliedIndex(1)).isEqualTo(1);
            assertThat(again.write(1, session(cas("k", null, "v"), CLIENT, 1, 1, 1001))).isEqualTo(first);
            assertThat(again.get(1, "k")).isEqualTo("v");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void acknowledgedResultsAreForgottenAndTheirRetriesRefused(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, SessionConfig.defaults())) {
            h.write(1, session(put("a", "1"), CLIENT, 1, 1, 1000));
            h.write(1, session(put("a", "2"), CLIENT, 2, 2, 1001));
            WriteResult late = h.write(1, session(put("a", "1"), CLIENT, 1, 1, 1002));
            assertThat(late.getError().hasInternal()).isTrue();
            assertThat(late.getError().getMessage()).contains("already answered");
            assertThat(h.get(1, "a")).isEqualTo("2");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aClientWhoseSessionIsUnknownButHadAnswersGetsSessionExpired(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, SessionConfig.defaults())) {
            WriteResult r = h.write(1, session(put("a", "1"), CLIENT, 5, 3, 1000));
            assertThat(r.getError().hasSessionExpired()).isTrue();
            assertThat(r.getError().getMessage()).contains("new client id");
            assertThat(h.get(1, "a")).isNull();
        }
    }

    /**
     * A client gave up on its first two writes (their deadline passed: they never reached the log)
     * and moved its first unacknowledged sequence past them. Its third write must open a session,
     * not get SessionExpired: it never had one. (The earlier rule, first_unacknowledged > 1 means a
     * session existed, refused 7,631 writes in an overloaded demo run.)
     */
    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aClientWhoseEarlierWritesNeverAppliedOpensASessionWhateverItsFirstUnacknowledged(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, SessionConfig.defaults())) {
            assertThat(h.write(1, KvHarness.firstWrites(put("a", "3"), CLIENT, 3, 3, 1000)).hasPut()).isTrue();
            assertThat(h.get(1, "a")).isEqualTo("3");
            // Its retry is answered from the session it opened.
            assertThat(h.write(1, session(put("a", "3"), CLIENT, 3, 3, 1001)).hasPut()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void sessionsExpireByLogTimeNotByAnyClock(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, new SessionConfig(1000, 100))) {
            h.write(1, session(put("a", "1"), CLIENT, 1, 1, 10_000));
            // Exactly the TTL later: still alive (a retry is answered from the session).
            assertThat(h.write(1, session(put("b", "x"), 2, 1, 1, 11_000)).hasPut()).isTrue();
            assertThat(h.write(1, session(put("a", "1"), CLIENT, 1, 1, 11_000)).hasPut()).isTrue();
            // Log time moves on through another client's write; a proposal stamped earlier does not move it back.
            h.write(1, session(put("b", "y"), 2, 2, 2, 12_001));
            h.write(1, session(put("b", "z"), 2, 3, 3, 5_000));
            WriteResult expired = h.write(1, session(put("a", "2"), CLIENT, 2, 2, 5_000));
            assertThat(expired.getError().hasSessionExpired()).isTrue();
            assertThat(h.get(1, "a")).isEqualTo("1");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void aFullTableRefusesNewClientsUntilItsOldestSessionOutlivesTheTtl(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, new SessionConfig(1000, 2))) {
            h.write(1, session(put("a", "1"), 1, 1, 1, 10_000));
            h.write(1, session(put("b", "1"), 2, 1, 1, 10_500));
            WriteResult busy = h.write(1, session(put("c", "1"), 3, 1, 1, 10_900));
            assertThat(busy.getError().hasBusy()).isTrue();
            assertThat(busy.getError().getBusy().getRetryAfterMs()).isEqualTo(100);
            assertThat(h.get(1, "c")).isNull();
            // Client 1 is past the TTL (1,001 ms unused): it expires, and client 3 gets its place.
            assertThat(h.write(1, session(put("c", "1"), 3, 1, 1, 11_001)).hasPut()).isTrue();
            assertThat(h.write(1, session(put("b", "2"), 2, 2, 2, 11_002)).hasPut()).as("client 2 is young and kept").isTrue();
            assertThat(h.write(1, session(put("a", "2"), 1, 2, 2, 11_003)).getError().hasSessionExpired()).isTrue();
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void refusedWritesAreNotRecordedSoTheirRetryMayApply(StoreKind kind) {
        try (KvHarness h = harness(kind, dir, SessionConfig.defaults())) {
            WriteResult stale = h.write(1, session(put("a", "1").setRangeEpoch(9), CLIENT, 1, 1, 1000));
            assertThat(stale.getError().hasEpochMismatch()).isTrue();
            assertThat(h.write(1, session(put("a", "1"), CLIENT, 1, 1, 1001)).hasPut()).isTrue();
            assertThat(h.get(1, "a")).isEqualTo("1");
        }
    }

    @ParameterizedTest
    @EnumSource(StoreKind.class)
    void sessionsTravelInsideSnapshots(StoreKind kind) throws IOException {
        try (KvHarness leader = harness(kind, dir.resolve("a"), SessionConfig.defaults());
                KvHarness follower = new KvHarness(kind.open(dir.resolve("b")))) {
            WriteResult first = leader.write(1, session(cas("k", null, "v"), CLIENT, 1, 1, 1000));
            leader.write(1, session(put("other", "x"), 2, 1, 1, 1001));
            Path image = dir.resolve("image");
            try (SnapshotSource.Reader reader = leader.sm.snapshot(1)) {
                ByteBuffer bytes = ByteBuffer.allocate((int) reader.totalBytes());
                reader.read(0, bytes);
                Files.write(image, bytes.array());
            }
            follower.sm.restore(1, new SnapshotMetadata(2, 1, ConfState.EMPTY), image);
            assertThat(follower.sm.appliedIndex(1)).isEqualTo(2);
            assertThat(follower.sm.durableIndex(1)).isEqualTo(2);
            assertThat(follower.sm.descriptor(1)).isEqualTo(leader.sm.descriptor(1));
            assertThat(follower.get(1, "other")).isEqualTo("x");
            // The retry reaches the new replica: answered from the restored session, not applied again.
            assertThat(follower.write(1, session(cas("k", null, "v"), CLIENT, 1, 1, 1002))).isEqualTo(first);
            assertThat(follower.sm.appliedIndex(1)).isEqualTo(3);
        }
    }
}
