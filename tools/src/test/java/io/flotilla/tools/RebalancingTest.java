package io.flotilla.tools;

import static org.assertj.core.api.Assertions.assertThat;

import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.NodePlacement;
import org.junit.jupiter.api.Test;

class RebalancingTest {
    private static NodePlacement node(long id, boolean up, int replicas) {
        return NodePlacement.newBuilder().setNodeId(id).setUp(up).setReplicas(replicas).build();
    }

    @Test
    void aNewNodeTheBalancerStillSeesDownIsNotBalancedInByCountingItOut() {
        // The cluster's state in a CI run: add-node followed the balancer while it had yet to see node 4 answer.
        ListMovesResponse starting = ListMovesResponse.newBuilder().addNodes(node(1, true, 65)).addNodes(node(2, true, 65))
                .addNodes(node(3, true, 65)).addNodes(node(4, false, 1)).build();
        assertThat(Rebalancing.balanced(starting, 4)).isFalse();

        ListMovesResponse filling = ListMovesResponse.newBuilder().addNodes(node(1, true, 60)).addNodes(node(2, true, 60))
                .addNodes(node(3, true, 60)).addNodes(node(4, true, 15)).build();
        assertThat(Rebalancing.balanced(filling, 4)).isFalse();

        ListMovesResponse done = ListMovesResponse.newBuilder().addNodes(node(1, true, 50)).addNodes(node(2, true, 50))
                .addNodes(node(3, true, 51)).addNodes(node(4, true, 44)).build();
        assertThat(Rebalancing.balanced(done, 4)).isTrue();
    }
}
