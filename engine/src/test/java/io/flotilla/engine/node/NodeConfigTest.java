package io.flotilla.engine.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Flags, the config file and their validation, as the node's main reads them. */
class NodeConfigTest {
    private static final String CLUSTER = "1=127.0.0.1:7001:7002:7101,2=127.0.0.1:7011:7012:7111,3=[::1]:7021:7022:7121";

    @TempDir
    Path dir;

    private static NodeConfig parse(String... args) throws Exception {
        FlotillaNodeMain main = new FlotillaNodeMain();
        FlotillaNodeMain.commandLine(main, args).parseArgs(args);
        return main.toConfig();
    }

    @Test
    void theInitialClusterGivesEveryListenAddressUnlessAFlagOverridesIt() throws Exception {
        NodeConfig c = parse("--node-id", "2", "--cluster-id", "5", "--data-dir", dir.toString(), "--initial-cluster", CLUSTER,
                "--client-listen", "9100", "--workers", "3");
        assertThat(c.peerListen()).isEqualTo(new InetSocketAddress("127.0.0.1", 7011));
        assertThat(c.snapshotListen()).isEqualTo(new InetSocketAddress("127.0.0.1", 7012));
        assertThat(c.clientListen()).isEqualTo(new InetSocketAddress("127.0.0.1", 9100));
        assertThat(c.initialRanges()).isEqualTo(NodeConfig.DEFAULT_INITIAL_RANGES);
        assertThat(c.workers()).isEqualTo(3);
        assertThat(c.maxClientFrameBytes()).isEqualTo(32 << 20);
        assertThat(c.initialCluster().get(3L).host()).isEqualTo("::1");
        assertThat(c.memberIds()).containsExactly(1, 2, 3);
    }

    @Test
    void aConfigFileGivesDefaultsThatFlagsOverride() throws Exception {
        Path file = dir.resolve("node.properties");
        Files.writeString(file, "node-id=1\ncluster-id=5\ndata-dir=" + dir.resolve("d") + "\ninitial-cluster=" + CLUSTER
                + "\ninitial-ranges=16\nclient-listen=0.0.0.0:7101\n");
        NodeConfig c = parse("--config", file.toString(), "--initial-ranges", "8");
        assertThat(c.nodeId()).isEqualTo(1);
        assertThat(c.dataDir()).isEqualTo(dir.resolve("d"));
        assertThat(c.initialRanges()).isEqualTo(8);
        assertThat(c.clientListen()).isEqualTo(new InetSocketAddress("0.0.0.0", 7101));
    }

    @Test
    void anUnknownConfigKeyIsRefusedNamingTheKnownOnes() throws Exception {
        Path file = dir.resolve("node.properties");
        Files.writeString(file, "node-id=1\nnodeid=2\n");
        assertThatThrownBy(() -> parse("--config", file.toString()))
                .hasMessageContaining("unknown keys [nodeid]")
                .hasMessageContaining("node-id");
    }

    @Test
    void invalidSettingsSayWhatIsWrong() {
        assertThatThrownBy(() -> parse("--node-id", "4", "--cluster-id", "5", "--data-dir", dir.toString(),
                "--initial-cluster", CLUSTER)).hasMessageContaining("does not list this node's id 4");
        assertThatThrownBy(() -> parse("--node-id", "1", "--cluster-id", "5", "--data-dir", dir.toString()))
                .hasMessageContaining("--initial-cluster");
        assertThatThrownBy(() -> NodeConfig.parseCluster("1=127.0.0.1:7001:7002"))
                .hasMessageContaining("expected id=host:peerPort:snapshotPort:clientPort");
        assertThatThrownBy(() -> NodeConfig.parseCluster("1=a:1:2:3,1=b:1:2:3")).hasMessageContaining("node 1 twice");
        assertThatThrownBy(() -> NodeConfig.parseCluster("1=a:1:2:70000")).hasMessageContaining("client port");
        Map<Long, ClusterMember> one = NodeConfig.parseCluster("1=a:1:2:3");
        assertThatThrownBy(() -> NodeConfig.of(1, 5, dir, one).withInitialRanges(0))
                .hasMessageContaining("--initial-ranges must be in [1, 65536]");
    }
}
