package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Sequences, the first unacknowledged sequence and established sessions, of {@link SessionTracker}. One test thread. */
class SessionTrackerTest {
    private final SessionTracker sessions = new SessionTracker();

    @Test
    void sequencesCountFromOneAcrossAllRanges() {
        assertThat(sessions.begin()).isEqualTo(1);
        assertThat(sessions.begin()).isEqualTo(2);
        assertThat(sessions.begin()).as("one sequence, whatever range a write goes to").isEqualTo(3);
    }

    @Test
    void firstUnackedIsTheLowestSequenceStillWaiting() {
        assertThat(sessions.firstUnacked()).isEqualTo(1);
        long a = sessions.begin();
        long b = sessions.begin();
        long c = sessions.begin();
        assertThat(sessions.firstUnacked()).isEqualTo(a);

        sessions.release(b);
        assertThat(sessions.firstUnacked()).as("a is still waiting").isEqualTo(a);
        sessions.release(a);
        assertThat(sessions.firstUnacked()).isEqualTo(c);
        sessions.release(c);
        assertThat(sessions.firstUnacked()).as("none waiting: the next to be handed out").isEqualTo(4);
        sessions.release(c);
        sessions.release(99);
        assertThat(sessions.firstUnacked()).isEqualTo(4);
    }

    @Test
    void aRangeHoldsTheSessionOnlyOnceItAnsweredAWriteWithItsResult() {
        long given = sessions.begin();
        sessions.release(given); // given up on: it may never have reached the range
        assertThat(sessions.firstUnacked()).isEqualTo(2);
        assertThat(sessions.isEstablished(1)).as("moving past a write proves no session").isFalse();

        sessions.begin();
        sessions.established(1);
        assertThat(sessions.isEstablished(1)).isTrue();
        assertThat(sessions.isEstablished(2)).isFalse();
    }
}
