package io.flotilla.tools;

import io.flotilla.client.FlotillaClient;
import io.flotilla.kv.proto.ListMovesResponse;
import io.flotilla.kv.proto.MoveProgress;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code flotilla moves}: the replica moves in progress and the last ones that ended, from the meta range's leader. */
@Command(name = "moves", mixinStandardHelpOptions = true,
        description = {"Lists the replica moves in progress (range, nodes, step, snapshot bytes sent) and the last",
                "ones that ended, as the meta range's leader, which drives them, knows them."})
final class MovesCommand implements Callable<Integer> {
    private static final double MIB = 1 << 20;

    @Mixin
    ClusterOptions cluster;

    @Override
    public Integer call() throws Exception {
        try (FlotillaClient client = cluster.connect()) {
            ListMovesResponse moves = client.listMoves().join();
            System.out.println(moves.getMovesCount() == 0 ? "no moves in progress" : "moves in progress:");
            if (moves.getMovesCount() > 0) {
                System.out.print(table(moves.getMovesList(), false));
            }
            if (moves.getEndedCount() > 0) {
                System.out.println("ended (newest first):");
                System.out.print(table(moves.getEndedList(), true));
            }
            return 0;
        }
    }

    static String table(Iterable<MoveProgress> moves, boolean ended) {
        Table t = new Table("range", "from", "to", "reason", ended ? "outcome" : "step", "snapshot", "detail");
        for (MoveProgress p : moves) {
            String snapshot = p.getSnapshotBytesTotal() == 0 ? "-" : String.format("%.1f / %.1f MiB",
                    p.getSnapshotBytesSent() / MIB, p.getSnapshotBytesTotal() / MIB);
            t.row(Long.toString(p.getMove().getRangeId()), Long.toString(p.getMove().getFromNodeId()),
                    Long.toString(p.getMove().getToNodeId()), p.getMove().getReason(),
                    MoveReplicaCommand.describe(p.getStep()), snapshot, p.getMessage());
        }
        return t.render();
    }
}
