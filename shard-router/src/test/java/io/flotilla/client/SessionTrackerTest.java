package io.flotilla.client;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Sequences and the first unacknowledged sequence per range, of {@link SessionTracker}. One test thread. */
class SessionTrackerTest {
    private final SessionTracker sessions = new SessionTracker();

    @Test
    void sequencesCountFromOnePerRange() {
        assertThat(sessions.begin(1)).isEqualTo(1);
        assertThat(sessions.begin(1)).isEqualTo(2);
        assertThat(sessions.begin(2)).isEqualTo(1);
    }

    @Test
    void firstUnackedIsTheLowestSequenceStillWaiting() {
        assertThat(sessions.firstUnacked(1)).isEqualTo(1);
        long a = sessions.begin(1);
        long b = sessions.begin(1);
        long c = sessions.begin(1);
        assertThat(sessions.firstUnacked(1)).isEqualTo(a);

        sessions.release(1, b);
        assertThat(sessions.firstUnacked(1)).as("a is still waiting").isEqualTo(a);
        sessions.release(1, a);
        assertThat(sessions.firstUnacked(1)).isEqualTo(c);
        sessions.release(1, c);
        assertThat(sessions.firstUnacked(1)).as("none waiting: the next to be handed out").isEqualTo(4);
        sessions.release(1, c);
        sessions.release(7, 1);
        assertThat(sessions.firstUnacked(1)).isEqualTo(4);
    }

    @Test
    void aRangeHoldsTheSessionOnlyOnceItAnsweredAWriteWithItsResult() {
        long given = sessions.begin(1);
        sessions.release(1, given); // given up on: it may never have reached the range
        assertThat(sessions.firstUnacked(1)).isEqualTo(2);
        assertThat(sessions.isEstablished(1)).as("moving past a write proves no session").isFalse();

        sessions.begin(1);
        sessions.established(1);
        assertThat(sessions.isEstablished(1)).isTrue();
        assertThat(sessions.isEstablished(2)).isFalse();
    }
}
