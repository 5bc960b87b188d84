package io.flotilla.tools;

import io.flotilla.kv.proto.ExplainEvent;
import io.flotilla.kv.proto.ExplainEventKind;
import io.flotilla.kv.proto.ExplainOutcome;
import io.flotilla.kv.proto.ExplainPeer;
import io.flotilla.kv.proto.ExplainRangeResponse;
import io.flotilla.kv.proto.ExplainRole;
import io.flotilla.kv.proto.ExplainSnapshot;
import io.flotilla.kv.proto.RangeDescriptor;
import io.flotilla.kv.proto.ReplicaDescriptor;
import io.flotilla.kv.proto.ReplicaRole;
import io.flotilla.router.RouteTable;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code flotilla why}'s reasoning, a pure function: the replicas' own accounts of a range
 * (ExplainRange answers, and which nodes gave none) in, sentences a person can act on and a
 * per-replica table out. No cluster, clock or I/O: tests feed it answers directly.
 */
final class RangeDiagnosis {
    /**
     * What one node said about the range: its account, or {@code noReplica} (it answered that it
     * hosts none), or a {@code failure} (no answer). {@code nodeId} is 0 when not known.
     */
    record NodeAnswer(long nodeId, String address, ExplainRangeResponse account, boolean noReplica, String failure) {
        static NodeAnswer of(String address, ExplainRangeResponse account) {
            return new NodeAnswer(account.getNodeId(), address, account, false, null);
        }

        static NodeAnswer none(long nodeId, String address) {
            return new NodeAnswer(nodeId, address, null, true, null);
        }

        static NodeAnswer down(long nodeId, String address, String failure) {
            return new NodeAnswer(nodeId, address, null, false, failure);
        }
    }

    private final long rangeId;
    private final List<NodeAnswer> answers;
    private final List<ExplainRangeResponse> accounts = new ArrayList<>();
    /** The newest descriptor any replica applied: its replicas are the range's. */
    private RangeDescriptor range;
    private final StringBuilder out = new StringBuilder();
    private final Set<String> actions = new LinkedHashSet<>();

    private RangeDiagnosis(long rangeId, List<NodeAnswer> answers) {
        this.rangeId = rangeId;
        this.answers = answers;
        for (NodeAnswer a : answers) {
            if (a.account() != null) {
                accounts.add(a.account());
                RangeDescriptor d = a.account().getRange();
                if (a.account().hasRange() && (range == null || RouteTable.compareVersions(d, range) > 0)) {
                    range = d;
                }
            }
        }
    }

    /** The explanation of range {@code rangeId} from {@code answers}: sentences, then the table. */
    static String explain(long rangeId, List<NodeAnswer> answers) {
        return new RangeDiagnosis(rangeId, answers).render();
    }

    private String render() {
        if (accounts.isEmpty()) {
            out.append("No replica of range ").append(rangeId).append(" answered.");
            unreachable();
            actions.add("Start the unreachable nodes, or check the range id (`flotilla ranges` lists the ranges).");
        } else {
            ExplainRangeResponse leader = leader();
            if (leader != null) {
                withLeader(leader);
            } else {
                withoutLeader();
            }
        }
        out.append('\n');
        for (String action : actions) {
            out.append("→ ").append(action).append('\n');
        }
        return out.append('\n').append(table()).toString();
    }

    // ---------------------------------------------------------------- with a leader

    /** The replica that leads in the highest term any replica reports, if a replica says it leads. */
    private ExplainRangeResponse leader() {
        ExplainRangeResponse leader = null;
        for (ExplainRangeResponse a : accounts) {
            if (a.getRole() == ExplainRole.EXPLAIN_LEADER && (leader == null || a.getTerm() > leader.getTerm())) {
                leader = a;
            }
        }
        long highestTerm = accounts.stream().mapToLong(ExplainRangeResponse::getTerm).max().orElse(0);
        return leader != null && leader.getTerm() == highestTerm ? leader : null;
    }

    private void withLeader(ExplainRangeResponse leader) {
        long commit = leader.getCommitIndex();
        List<String> troubles = new ArrayList<>();
        long maxLag = 0;
        for (long node : replicaNodes()) {
            NodeAnswer a = answerOf(node);
            ExplainPeer p = peerOf(leader, node);
            if (a == null || a.account() == null) {
                String heard = p == null || !p.getHeard() ? "" : "; the leader last heard from it "
                        + ms(p.getHeardMsAgo()) + " ago";
                troubles.add(unreachableSentence(node, a) + heard);
                continue;
            }
            long lag = Math.max(0, commit - a.account().getAppliedIndex());
            maxLag = Math.max(maxLag, lag);
            if (a.account().getTerm() < leader.getTerm() || (node != leader.getNodeId()
                    && a.account().getLeaderNodeId() != leader.getNodeId())) {
                troubles.add("node " + node + " does not follow it yet (term " + a.account().getTerm() + ", "
                        + (a.account().getLeaderNodeId() == 0 ? "no leader known" : "following node "
                        + a.account().getLeaderNodeId()) + ")");
            }
            if (p != null && p.getReportedUnreachable() && !p.getRecentActive()) {
                troubles.add("the leader could not reach node " + node + " " + ms(p.getUnreachableMsAgo()) + " ago");
            }
            if (a.account().getAwaitingSnapshot()) {
                troubles.add("node " + node + " waits for a snapshot (its state machine lost entries its log no longer holds)");
            }
        }
        for (ExplainSnapshot s : leader.getSnapshotsSendingList()) {
            troubles.add("the leader is sending node " + s.getNodeId() + " a snapshot at index " + n(s.getIndex())
                    + (s.getTotalBytes() == 0 ? " (not connected yet)" : ": " + bytes(s.getAckedBytes()) + " of "
                    + bytes(s.getTotalBytes()) + " acknowledged") + (s.getAttempts() > 1 ? ", attempt " + s.getAttempts() : ""));
        }
        String quiet = leader.getQuiescent() ? "quiescent (nothing to do, so it is not ticked)" : "active";
        if (troubles.isEmpty()) {
            out.append("Range ").append(rangeId).append(" is healthy: node ").append(leader.getNodeId())
                    .append(" leads since term ").append(leader.getTerm()).append(", all ").append(replicaNodes().size())
                    .append(" replicas within ").append(n(maxLag)).append(" entries of its commit index ")
                    .append(n(commit)).append("; ").append(quiet).append('.');
            return;
        }
        out.append("Range ").append(rangeId).append(" has a leader: node ").append(leader.getNodeId())
                .append(" leads since term ").append(leader.getTerm()).append(" (commit index ").append(n(commit))
                .append("), but ").append(String.join("; ", troubles)).append('.');
        int up = answeringVoters();
        int voters = voterNodes().size();
        int majority = voters / 2 + 1;
        List<Long> down = downVoters();
        if (up < majority) {
            out.append(" Only ").append(up).append(" of its ").append(voters).append(" voters answer, fewer than the ")
                    .append(majority).append(" a write needs: nothing commits, and node ").append(leader.getNodeId())
                    .append(leader.getQuiescent() ? " (asleep, so it has not noticed)" : "")
                    .append(" steps down at its next quorum check.");
            actions.add("Start node" + plural(down) + join(down, "and") + ": writes commit again once " + majority
                    + " of the " + voters + " voters are up.");
        } else {
            out.append(" It serves reads and writes while a majority of its voters (").append(majority).append(" of ")
                    .append(voters).append(") is up; ").append(up).append(" answer.");
            if (!down.isEmpty()) {
                actions.add("Start node" + plural(down) + join(down, "and") + "; "
                        + (down.size() > 1 ? "they catch" : "it catches") + " up from the leader.");
            }
        }
        if (actions.isEmpty()) {
            actions.add("Wait: the leader catches the others up; run `flotilla why " + rangeId + "` again.");
        }
    }

    // ---------------------------------------------------------------- without a leader

    private void withoutLeader() {
        out.append("Range ").append(rangeId).append(" has no leader.");
        unreachable();
        int voters = voterNodes().size();
        int up = answeringVoters();
        int majority = voters / 2 + 1;
        if (up < majority) {
            out.append(" Only ").append(up).append(" of its ").append(voters).append(" voters answer; electing a leader"
                    + " needs ").append(majority).append('.');
        }
        for (ExplainRangeResponse a : accounts) {
            campaigns(a);
        }
        List<Long> waiting = new ArrayList<>();
        for (ExplainRangeResponse a : accounts) {
            if (a.getRole() != ExplainRole.EXPLAIN_FOLLOWER || currentCampaign(a) != null) {
                continue;
            }
            if (a.getAwaitingSnapshot()) {
                out.append(" Node ").append(a.getNodeId()).append(" cannot campaign: it waits for a snapshot from a"
                        + " leader.");
            } else if (a.getInLease()) {
                out.append(" Node ").append(a.getNodeId()).append(" has not campaigned: it heard from a leader")
                        .append(a.getLeaderNodeId() == 0 ? "" : " (node " + a.getLeaderNodeId() + ")").append(' ')
                        .append(ms(a.getSinceLeaderMs())).append(" ago (lease).");
                waiting.add(a.getNodeId());
            } else {
                out.append(" Node ").append(a.getNodeId()).append(" has not campaigned yet (")
                        .append(ms(a.getSinceLeaderMs())).append(" of its election timeout of ")
                        .append(ms(a.getElectionTimeoutMs())).append(" passed).");
                waiting.add(a.getNodeId());
            }
        }
        String wait = waiting.isEmpty() ? "" : "node" + plural(waiting) + join(waiting, "or")
                + " will campaign after " + (waiting.size() > 1 ? "their" : "its") + " election timeout";
        List<Long> down = downVoters();
        if (up < majority) {
            actions.add("Start node" + plural(down) + join(down, "and") + ": no election can succeed until "
                    + majority + " of the " + voters + " voters are up.");
        } else if (!down.isEmpty()) {
            actions.add("Start node" + plural(down) + join(down, "and")
                    + (wait.isEmpty() ? ", or wait for the next election." : ", or wait: " + wait + "."));
        } else {
            actions.add(wait.isEmpty() ? "Wait for the next election; if none succeeds, the records above say why."
                    : "Wait: " + wait + ".");
        }
    }

    /** A replica's latest campaign, and why the others refused it. */
    private void campaigns(ExplainRangeResponse a) {
        ExplainEvent c = currentCampaign(a);
        if (c == null) {
            return;
        }
        long node = a.getNodeId();
        long timedOut = c.getCount() - 1 + a.getEventsList().stream().filter(e -> e.getKind()
                == ExplainEventKind.EXPLAIN_CAMPAIGN && e.getOutcome() == ExplainOutcome.EXPLAIN_TIMED_OUT)
                .mapToLong(ExplainEvent::getCount).sum();
        out.append(" Node ").append(node).append(c.getPreVote() ? " ran a pre-election for term " : " campaigned in term ")
                .append(c.getTerm()).append(' ').append(ms(c.getMsAgo())).append(" ago")
                .append(timedOut == 0 ? "" : " (after " + timedOut + " earlier campaign" + (timedOut > 1 ? "s" : "")
                        + " that timed out)").append(" and ").append(outcome(c));
        List<String> reasons = new ArrayList<>();
        for (ExplainRangeResponse voter : accounts) {
            for (ExplainEvent e : voter.getEventsList()) {
                if (e.getKind() == ExplainEventKind.EXPLAIN_VOTE_REFUSED && e.getPeer() == node && e.getTerm() == c.getTerm()
                        && e.getPreVote() == c.getPreVote()) {
                    reasons.add(refusal(voter.getNodeId(), node, e));
                }
            }
        }
        out.append(reasons.isEmpty() ? "." : ": " + String.join("; ", reasons) + ".");
    }

    /**
     * A replica's latest campaign if it is for the highest term any replica reports or later (a
     * pre-election asks for the next term): an older one, won or lost, is not why there is no leader now.
     */
    private ExplainEvent currentCampaign(ExplainRangeResponse a) {
        long highestTerm = accounts.stream().mapToLong(ExplainRangeResponse::getTerm).max().orElse(0);
        ExplainEvent last = null;
        for (ExplainEvent e : a.getEventsList()) {
            if (e.getKind() == ExplainEventKind.EXPLAIN_CAMPAIGN) {
                last = e;
            }
        }
        return last != null && last.getTerm() >= highestTerm ? last : null;
    }

    private static String outcome(ExplainEvent c) {
        String votes = c.getVotesGranted() + c.getVotesRefused() == 0 ? "no answers"
                : c.getVotesGranted() + " granted, " + c.getVotesRefused() + " refused";
        return switch (c.getOutcome()) {
            case EXPLAIN_WON -> "won (" + votes + ")";
            case EXPLAIN_LOST -> "lost (" + votes + ")";
            case EXPLAIN_TIMED_OUT -> "timed out without a majority (" + votes + ")";
            case EXPLAIN_STEPPED_DOWN -> "stepped down: it heard of a leader or a higher term";
            default -> "is still collecting votes (" + votes + ")";
        };
    }

    /** Why {@code voter} refused {@code candidate}, in words. */
    static String refusal(long voter, long candidate, ExplainEvent e) {
        String times = e.getCount() > 1 ? " (" + e.getCount() + " times)" : "";
        String who = "node " + voter + " refused its vote" + times + " because ";
        return who + switch (e.getRefusal()) {
            case EXPLAIN_IN_LEASE -> "it had heard from its leader" + (e.getOther() == 0 ? "" : " node " + e.getOther())
                    + " " + ms(e.getSinceLeaderMs()) + " before (lease)";
            case EXPLAIN_LOG_BEHIND -> "node " + voter + "'s log is ahead (node " + candidate + "'s last entry "
                    + e.getCandidateLastTerm() + "/" + n(e.getCandidateLastIndex()) + ", node " + voter + "'s "
                    + e.getOwnLastTerm() + "/" + n(e.getOwnLastIndex()) + ")";
            case EXPLAIN_STALE_TERM -> "it is in a later term already";
            case EXPLAIN_NOT_A_MEMBER -> "node " + candidate + " is not a voter in any configuration node " + voter + " knows";
            case EXPLAIN_ALREADY_VOTED -> "it had voted for node " + e.getOther() + " in term " + e.getTerm();
            case EXPLAIN_HAS_LEADER -> "it follows node " + e.getOther() + " in term " + e.getTerm();
            case EXPLAIN_EMPTY_LOG -> "it joined empty and votes only once it installed the range's snapshot";
            default -> "of a reason this tool does not know (code " + e.getRefusalValue() + ")";
        };
    }

    // ---------------------------------------------------------------- replicas

    private void unreachable() {
        for (NodeAnswer a : answers) {
            if (a.failure() != null && (range == null || a.nodeId() == 0 || replicaNodes().contains(a.nodeId()))) {
                out.append(' ').append(capitalize(unreachableSentence(a.nodeId(), a))).append('.');
            }
        }
    }

    private static String unreachableSentence(long node, NodeAnswer a) {
        String name = node == 0 ? "the node at " + a.address() : "node " + node;
        if (a == null) {
            return name + " was not asked (its address is unknown)";
        }
        if (a.noReplica()) {
            return name + " answered but holds no replica of the range";
        }
        return name + " is unreachable (no answer from " + a.address() + ")";
    }

    /** The range's replicas by the newest descriptor any replica applied (none if no replica answered). */
    private List<Long> replicaNodes() {
        return nodes(false);
    }

    private List<Long> voterNodes() {
        return nodes(true);
    }

    private List<Long> nodes(boolean votersOnly) {
        List<Long> nodes = new ArrayList<>();
        if (range != null) {
            for (ReplicaDescriptor r : range.getReplicasList()) {
                if (!votersOnly || r.getRole() != ReplicaRole.LEARNER) {
                    nodes.add(r.getNodeId());
                }
            }
        }
        return nodes;
    }

    private List<Long> downVoters() {
        List<Long> down = new ArrayList<>();
        for (long node : voterNodes()) {
            NodeAnswer a = answerOf(node);
            if (a == null || a.account() == null) {
                down.add(node);
            }
        }
        return down;
    }

    private int answeringVoters() {
        return voterNodes().size() - downVoters().size();
    }

    private NodeAnswer answerOf(long node) {
        for (NodeAnswer a : answers) {
            if (a.nodeId() == node) {
                return a;
            }
        }
        return null;
    }

    private static ExplainPeer peerOf(ExplainRangeResponse leader, long node) {
        for (ExplainPeer p : leader.getPeersList()) {
            if (p.getNodeId() == node) {
                return p;
            }
        }
        return null;
    }

    private String table() {
        long commit = accounts.stream().mapToLong(ExplainRangeResponse::getCommitIndex).max().orElse(0);
        Table t = new Table("node", "role", "term", "epoch", "applied", "lag", "state");
        Set<Long> listed = new LinkedHashSet<>(replicaNodes());
        for (NodeAnswer a : answers) {
            if (a.account() != null || (a.failure() != null && a.nodeId() == 0)) {
                listed.add(a.nodeId());
            }
        }
        for (long node : listed) {
            NodeAnswer a = answerOf(node);
            if (a == null || a.account() == null) {
                t.row(node == 0 ? "?" : Long.toString(node), "", "", "", "", "",
                        a == null ? "not asked" : a.noReplica() ? "no replica" : "UNREACHABLE");
                continue;
            }
            ExplainRangeResponse r = a.account();
            t.row(Long.toString(node), role(r.getRole()), Long.toString(r.getTerm()),
                    r.hasRange() ? Long.toString(r.getRange().getEpoch()) : "?", n(r.getAppliedIndex()),
                    n(Math.max(0, commit - r.getAppliedIndex())), state(r));
        }
        return t.render();
    }

    private static String state(ExplainRangeResponse r) {
        List<String> s = new ArrayList<>();
        if (r.getRole() != ExplainRole.EXPLAIN_LEADER) {
            s.add(r.getLeaderNodeId() == 0 ? "no leader known" : "follows " + r.getLeaderNodeId());
        }
        if (r.getLeaseHeld()) {
            s.add("lease held");
        }
        if (r.getInLease()) {
            s.add("in lease");
        }
        if (r.getQuiescent()) {
            s.add("quiescent");
        }
        if (r.getAwaitingSnapshot()) {
            s.add("awaiting snapshot");
        }
        for (ExplainSnapshot snap : r.getSnapshotsSendingList()) {
            s.add("snapshot to " + snap.getNodeId() + " " + bytes(snap.getAckedBytes()) + "/" + bytes(snap.getTotalBytes()));
        }
        for (ExplainPeer p : r.getPeersList()) {
            if (p.getNodeId() != r.getNodeId() && !p.getRecentActive()) {
                s.add("not hearing " + p.getNodeId());
            }
        }
        return String.join(", ", s);
    }

    private static String role(ExplainRole role) {
        return switch (role) {
            case EXPLAIN_LEADER -> "leader";
            case EXPLAIN_CANDIDATE -> "candidate";
            case EXPLAIN_PRE_CANDIDATE -> "pre-candidate";
            case EXPLAIN_FOLLOWER -> "follower";
            default -> "?";
        };
    }

    // ---------------------------------------------------------------- words

    static String ms(long ms) {
        return ms < 10_000 ? n(ms) + " ms" : String.format(Locale.ROOT, "%.1f s", ms / 1000.0);
    }

    static String n(long v) {
        return String.format(Locale.ROOT, "%,d", v);
    }

    static String bytes(long b) {
        if (b < 1024 * 1024) {
            return String.format(Locale.ROOT, "%,d KiB", (b + 1023) / 1024);
        }
        return String.format(Locale.ROOT, "%.1f MiB", b / (1024.0 * 1024));
    }

    private static String plural(List<Long> nodes) {
        return nodes.size() > 1 ? "s " : " ";
    }

    private static String join(List<Long> nodes, String conjunction) {
        List<String> names = nodes.stream().map(String::valueOf).toList();
        if (names.size() <= 1) {
            return String.join("", names);
        }
        return String.join(", ", names.subList(0, names.size() - 1)) + " " + conjunction + " " + names.get(names.size() - 1);
    }

    private static String capitalize(String s) {
        return s.isEmpty() ? s : Character.toUpperCase(s.charAt(0)) + s.substring(1);
    }
}
