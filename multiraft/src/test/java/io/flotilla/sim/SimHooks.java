package io.flotilla.sim;

import io.flotilla.raft.RaftConfig;
import io.flotilla.raft.Ready;
import java.util.function.UnaryOperator;

/**
 * Seams for breaking a run on purpose (mutation testing: does the simulation notice?). Immutable.
 *
 * @param raftConfig rewrites the config of every replica (re)start
 * @param ready rewrites every Ready before the harness handles it; the harness still calls
 *        {@code advance} with the original, so the core believes the original was handled
 */
public record SimHooks(UnaryOperator<RaftConfig> raftConfig, ReadyRewriter ready) {
    /** Rewrites one Ready of replica {@code nodeId} of group {@code groupId}. */
    @FunctionalInterface
    public interface ReadyRewriter {
        Ready rewrite(long nodeId, long groupId, Ready ready);
    }

    public static final SimHooks NONE = new SimHooks(UnaryOperator.identity(), (nodeId, groupId, ready) -> ready);

    public SimHooks withRaftConfig(UnaryOperator<RaftConfig> hook) {
        return new SimHooks(hook, ready);
    }

    public SimHooks withReady(ReadyRewriter hook) {
        return new SimHooks(raftConfig, hook);
    }
}
