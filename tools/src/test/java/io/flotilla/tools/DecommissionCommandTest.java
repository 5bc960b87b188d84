package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class DecommissionCommandTest {
    @Test
    void aDrainWhoseCountsFallIsNotStuckEvenIfNoPollSeesAMoveInProgress() {
        DecommissionCommand.StuckWatch watch = new DecommissionCommand.StuckWatch();
        // Each move starts and ends between two polls: none sees it, but the count falls.
        for (int replicas = 50; replicas > 0; replicas -= 2) {
            watch.changed("node 1: " + replicas + " replicas, 3 leaderships left");
            assertThat(watch.stuck(false)).as("at %d replicas", replicas).isFalse();
        }
    }

    @Test
    void aDrainWithNoMoveAndNoChangeForFifteenPollsIsStuck() {
        DecommissionCommand.StuckWatch watch = new DecommissionCommand.StuckWatch();
        for (int poll = 1; poll <= DecommissionCommand.STUCK_ROUNDS; poll++) {
            watch.changed("node 1: 24 replicas, 7 leaderships left");
            // The first poll shows the counts for the first time: it is progress, not idleness.
            assertThat(watch.stuck(false)).as("poll %d", poll).isFalse();
        }
        watch.changed("node 1: 24 replicas, 7 leaderships left");
        assertThat(watch.stuck(false)).isTrue();
        watch.changed("node 1: 24 replicas, 7 leaderships left");
        assertThat(watch.stuck(true)).as("a move in progress").isFalse();
    }
}
