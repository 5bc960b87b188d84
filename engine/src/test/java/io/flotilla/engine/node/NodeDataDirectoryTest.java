package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The data directory's lock and identity: one node per directory, and only the node it was made for. */
class NodeDataDirectoryTest {
    @TempDir
    Path dir;

    @Test
    void aSecondNodeOnTheSameDirectoryIsRefusedWithAClearMessage() throws Exception {
        TestCluster cluster = new TestCluster(dir);
        try (FlotillaNode first = FlotillaNode.start(cluster.config(1))) {
            assertThatThrownBy(() -> FlotillaNode.start(cluster.config(1)))
                    .isInstanceOf(NodeLockedException.class)
                    .hasMessageContaining(dir.resolve("node1").toString())
                    .hasMessageContaining("pid " + ProcessHandle.current().pid())
                    .hasMessageContaining("another Flotilla node is running on it");
            assertThat(first.clientAddress().getPort()).isPositive();
        }
        // Released on close: the directory can be used again.
        try (FlotillaNode again = FlotillaNode.start(cluster.config(1))) {
            assertThat(again.stateMachine().ranges()).hasSize(TestCluster.RANGES);
        }
    }

    @Test
    void theLockIsFreedWhenStartupFails() throws Exception {
        TestCluster cluster = new TestCluster(dir);
        try (DataDirectory d = DataDirectory.lock(dir.resolve("node1"))) {
            d.claim(1, TestCluster.CLUSTER_ID + 1, false);
        }
        assertThatThrownBy(() -> FlotillaNode.start(cluster.config(1)))
                .isInstanceOf(NodeIdentityException.class)
                .hasMessageContaining("belongs to node 1 of cluster " + (TestCluster.CLUSTER_ID + 1))
                .hasMessageContaining("started as node 1 of cluster " + TestCluster.CLUSTER_ID);
        try (DataDirectory d = DataDirectory.lock(dir.resolve("node1"))) {
            assertThat(d.claim(1, TestCluster.CLUSTER_ID + 1, false)).isFalse();
        }
    }

    @Test
    void theIdentityIsWrittenOnceAndChecked() throws Exception {
        try (DataDirectory d = DataDirectory.lock(dir)) {
            assertThat(d.claim(2, 9, false)).isTrue();
            assertThat(d.claim(2, 9, false)).isFalse();
            assertThatThrownBy(() -> d.claim(3, 9, false)).isInstanceOf(NodeIdentityException.class)
                    .hasMessageContaining("belongs to node 2 of cluster 9");
        }
        assertThat(Files.readString(dir.resolve(DataDirectory.IDENTITY_FILE))).contains("node.id=2", "cluster.id=9");
    }

    @Test
    void aJoiningDirectoryIsMarkedUntilTheRejoinIsOverAndAnExistingOneIsNeverMarked() throws Exception {
        try (DataDirectory d = DataDirectory.lock(dir.resolve("joining"))) {
            assertThat(d.claim(3, 9, true)).isTrue();
            assertThat(d.rejoining()).isTrue();
            assertThat(d.claim(3, 9, true)).as("a restart of the joining node").isFalse();
            assertThat(d.rejoining()).as("still rejoining across restarts").isTrue();
            d.rejoined();
            assertThat(d.rejoining()).isFalse();
        }
        try (DataDirectory d = DataDirectory.lock(dir.resolve("member"))) {
            assertThat(d.claim(3, 9, false)).isTrue();
            assertThat(d.claim(3, 9, true)).as("--join on an existing directory").isFalse();
            assertThat(d.rejoining()).isFalse();
        }
    }
}
