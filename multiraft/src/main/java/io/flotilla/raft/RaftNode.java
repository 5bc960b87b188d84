package io.flotilla.raft;

/** API outline; the implementation lands in the next commit. */
public final class RaftNode {
    public RaftNode(RaftConfig config, RaftStorage storage) { throw new UnsupportedOperationException(); }
    public void tick() { throw new UnsupportedOperationException(); }
    public void step(Message m) { throw new UnsupportedOperationException(); }
    public ProposeResult propose(byte[] data) { throw new UnsupportedOperationException(); }
    public ProposeResult proposeConfChange(ConfChange cc) { throw new UnsupportedOperationException(); }
    public void readIndex(long requestId) { throw new UnsupportedOperationException(); }
    public boolean transferLeader(long target) { throw new UnsupportedOperationException(); }
    public void reportUnreachable(long peer) { throw new UnsupportedOperationException(); }
    public void reportSnapshot(long peer, boolean ok) { throw new UnsupportedOperationException(); }
    public boolean hasReady() { throw new UnsupportedOperationException(); }
    public Ready ready() { throw new UnsupportedOperationException(); }
    public void advance(Ready rd) { throw new UnsupportedOperationException(); }
    public long id() { throw new UnsupportedOperationException(); }
    public long groupId() { throw new UnsupportedOperationException(); }
    public long term() { throw new UnsupportedOperationException(); }
    public long leader() { throw new UnsupportedOperationException(); }
    public Role role() { throw new UnsupportedOperationException(); }
    public long commitIndex() { throw new UnsupportedOperationException(); }
    public long appliedIndex() { throw new UnsupportedOperationException(); }
    public long lastIndex() { throw new UnsupportedOperationException(); }
    public ConfState confState() { throw new UnsupportedOperationException(); }
}
