package io.flotilla.raft;

import java.util.List;

/**
 * One message between two replicas of a group. A plain carrier like etcd's {@code raftpb.Message}:
 * the core fills it in and never touches it again once it is in a {@link Ready}; whoever receives
 * it from a {@code Ready} or builds it from the wire owns it.
 *
 * <p>Fields a type does not use stay zero / empty.
 */
public final class Message {
    public static final List<Entry> NO_ENTRIES = List.of();

    public MessageType type;
    public long groupId;
    public long from;
    public long to;
    public long term;
    /** APPEND: term of the entry at {@code index}; VOTE/PRE_VOTE: the candidate's last log term;
     * rejected APPEND_RESPONSE: term of the entry at {@code rejectHint}. */
    public long logTerm;
    /** APPEND: index preceding the entries; APPEND_RESPONSE: last index accepted (or the rejected
     * one); VOTE/PRE_VOTE: the candidate's last index; READ_INDEX_RESPONSE: the read index. */
    public long index;
    /** May be unmodifiable (decoded from the wire, or a view of the log): never written in place. */
    public List<Entry> entries = NO_ENTRIES;
    public long commit;
    public boolean reject;
    public long rejectHint;
    /** HEARTBEAT(_RESPONSE): the read-confirmation round; READ_INDEX(_RESPONSE): the request id;
     * VOTE/PRE_VOTE: {@link #CAMPAIGN_TRANSFER} when a leader transfer forced the election;
     * APPEND_RESPONSE: {@link #REQUEST_SNAPSHOT} on a follower's request for a snapshot. */
    public long context;
    public Snapshot snapshot;

    /** Marks a vote request caused by a leader transfer: voters ignore their leader lease if the
     * candidate is one of their voters. */
    public static final long CAMPAIGN_TRANSFER = 1;

    /** Marks a rejected APPEND_RESPONSE as a follower's request for a snapshot reaching
     * {@code rejectHint}: its state machine lags its log ({@link RaftNode#requestSnapshot()}). */
    public static final long REQUEST_SNAPSHOT = 1;

    public Message() {
    }

    public Message(MessageType type, long groupId, long from, long to, long term) {
        this.type = type;
        this.groupId = groupId;
        this.from = from;
        this.to = to;
        this.term = term;
    }

    /** A shallow copy (entries and snapshot shared, as they are immutable): a separate object to own or change. */
    public Message copy() {
        Message c = new Message(type, groupId, from, to, term);
        c.logTerm = logTerm;
        c.index = index;
        c.entries = entries;
        c.commit = commit;
        c.reject = reject;
        c.rejectHint = rejectHint;
        c.context = context;
        c.snapshot = snapshot;
        return c;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        b.append(from).append("->").append(to).append(' ').append(type).append(" term=").append(term);
        switch (type) {
            case APPEND -> {
                b.append(" index=").append(index).append(" logTerm=").append(logTerm).append(" commit=").append(commit);
                appendEntries(b);
            }
            case APPEND_RESPONSE -> {
                b.append(" index=").append(index);
                if (reject && context == REQUEST_SNAPSHOT) {
                    b.append(" snapshot request to cover ").append(rejectHint);
                } else if (reject) {
                    b.append(" reject hint=").append(rejectHint).append(" hintTerm=").append(logTerm);
                }
            }
            case VOTE, PRE_VOTE -> {
                b.append(" lastIndex=").append(index).append(" lastTerm=").append(logTerm);
                if (context == CAMPAIGN_TRANSFER) {
                    b.append(" transfer");
                }
            }
            case VOTE_RESPONSE, PRE_VOTE_RESPONSE -> b.append(reject ? " reject" : " grant");
            case HEARTBEAT -> b.append(" commit=").append(commit).append(" round=").append(context);
            case HEARTBEAT_RESPONSE -> b.append(" round=").append(context);
            case SNAPSHOT -> b.append(" snapshot=").append(snapshot.metadata());
            case TIMEOUT_NOW -> { }
            case READ_INDEX -> b.append(" request=").append(context);
            case READ_INDEX_RESPONSE -> {
                b.append(" request=").append(context);
                b.append(reject ? " reject" : " index=" + index);
            }
        }
        return b.toString();
    }

    private void appendEntries(StringBuilder b) {
        if (entries.isEmpty()) {
            return;
        }
        b.append(" entries=[");
        for (int i = 0; i < entries.size(); i++) {
            if (i > 0) {
                b.append(' ');
            }
            b.append(entries.get(i));
        }
        b.append(']');
    }
}
