package io.flotilla.engine.node;

import io.flotilla.engine.kv.KvStateMachine;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.multiraft.GroupView;
import io.flotilla.multiraft.MultiRaftNode;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import io.flotilla.router.KeyFormat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the group of each range split off on this node. The new range has the replicas of the one
 * it came from, and each of them applies the same split and starts its own replica here, so the
 * group needs no snapshot: every replica begins with the same state and an identical bootstrapped
 * log. One voter campaigns at once, so the new range has a leader without waiting an election
 * timeout: the one its range id picks among the voters in id order ({@link #campaigner}), the same
 * choice on every replica. Picking by id rather than keeping the split range's leader spreads the
 * leaderships of a range that splits again and again (one range growing into many by load would
 * otherwise be led by one node); the first requests for the new range may take one NotLeader hop.
 * The campaigner may start its replica before the others have applied the split (a loaded range
 * takes them longer to export): its first votes then find no replica to answer, and without more
 * it would wait a whole election timeout (1 s) to try again. So it campaigns again every 50 ms,
 * for up to 3 s, until the range has a leader ({@link #CAMPAIGN_RETRY_MS}, on a timer thread made
 * on the first split, or on the {@link RetryScheduler} a deterministic simulation hands in): the
 * range then has a leader within 50 ms of a second replica starting its group (growing waits,
 * tried before, left gaps of up to 800 ms). A pre-vote that finds no replica costs two small messages.
 * A split applied again after a restart finds its group already hosted (the runtime ignores it).
 * Runs on the worker that applied the split; creating a group only queues a command.
 */
public final class SplitStarter implements KvStateMachine.SplitListener {
    private static final Logger LOG = LoggerFactory.getLogger(SplitStarter.class);

    /** How often the campaigner campaigns again while the new range has no leader, and for how long. */
    static final long CAMPAIGN_RETRY_MS = 50;
    static final int CAMPAIGN_RETRIES = 60;

    /**
     * Runs a campaign retry later. The node's is a timer thread; a simulation, which steps the
     * runtime on one thread by a simulated clock, hands in its own so that the retries happen in
     * its time and replay from its seed.
     */
    public interface RetryScheduler {
        /** Runs {@code retry} once, about {@code delayMs} from now. */
        void schedule(Runnable retry, long delayMs);
    }

    private final long nodeId;
    private final MultiRaftNode runtime;
    /** Null until the first retry when the node's own timer thread is used. */
    private RetryScheduler retryScheduler;
    private ScheduledExecutorService retries;

    SplitStarter(long nodeId, MultiRaftNode runtime) {
        this.nodeId = nodeId;
        this.runtime = runtime;
    }

    /** As the node's, with the campaign retries run by {@code retryScheduler} (a simulation's clock). */
    public SplitStarter(long nodeId, MultiRaftNode runtime, RetryScheduler retryScheduler) {
        this(nodeId, runtime);
        this.retryScheduler = retryScheduler;
    }

    /** The voter (of {@code voters}, in any order) that campaigns first in range {@code rangeId}. */
    static long campaigner(long rangeId, long[] voters) {
        long[] sorted = voters.clone();
        java.util.Arrays.sort(sorted);
        long h = rangeId * 0x9E3779B97F4A7C15L;
        return sorted[(int) Math.floorMod(h ^ (h >>> 32), (long) sorted.length)];
    }

    private void campaignAgainIfLeaderless(long rangeId, int retry) {
        if (retry >= CAMPAIGN_RETRIES) {
            return;
        }
        retryScheduler().schedule(() -> {
            GroupView view = runtime.groupView(rangeId);
            if (view != null && view.leaderNodeId() != 0) {
                return;
            }
            runtime.campaign(rangeId);
            campaignAgainIfLeaderless(rangeId, retry + 1);
        }, CAMPAIGN_RETRY_MS);
    }

    private synchronized RetryScheduler retryScheduler() {
        if (retryScheduler == null) {
            retries = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "flotilla-split-campaign-" + nodeId);
                t.setDaemon(true);
                return t;
            });
            retryScheduler = (retry, delayMs) -> retries.schedule(retry, delayMs, TimeUnit.MILLISECONDS);
        }
        return retryScheduler;
    }

    @Override
    public void onSplit(RangeDescriptor left, RangeDescriptor right) {
        long[] voters = RangeBootstrap.voters(right);
        boolean leads = voters.length > 0 && campaigner(right.getRangeId(), voters) == nodeId;
        boolean started = leads ? runtime.createGroupAndCampaign(right.getRangeId(), voters)
                : runtime.createGroup(right.getRangeId(), voters);
        if (!started) {
            LOG.error("node {}: range {} split off range {}, but the node is stopping and did not start its group;"
                    + " the next start does", nodeId, right.getRangeId(), left.getRangeId());
            return;
        }
        if (leads) {
            campaignAgainIfLeaderless(right.getRangeId(), 0);
        }
        LOG.info("node {}: range {} split at {}: it keeps {} (epoch {}), new range {} takes {}{}", nodeId,
                left.getRangeId(), KeyFormat.describe(right.getStartKey()),
                KeyFormat.describeInterval(left.getStartKey(), left.getEndKey()), left.getEpoch(), right.getRangeId(),
                KeyFormat.describeInterval(right.getStartKey(), right.getEndKey()),
                leads ? " and campaigns here" : "");
    }
}
