package io.flotilla.wal;

/**
 * Completion of one submitted {@link WalBatch}: exactly one of the two methods is called, exactly
 * once per accepted submission.
 *
 * <p>Both run <b>on the log's completer thread</b> (one per log, not the writer: the writer hands
 * each forced group commit to it and goes on with the next), one after another for every batch of a
 * group commit, in submission order. They must be cheap and must not block: hand the result to the
 * submitting worker through its bounded queue (or set a flag) and return. A callback that blocks
 * delays every group's acknowledgements and, once the writer has a few group commits waiting for the
 * completer, its writes too; one that calls {@link WalWriter#submit} again may be refused when the
 * queue is full; one that throws is a bug and makes the log fail-stop (the records stay durable).
 */
public interface WalAppendCallback {
    /**
     * Every record of {@code batch} is durable (written and forced). The per-record positions are
     * in {@link WalBatch#recordSegmentSequence(int)} and {@link WalBatch#recordOffsetBytes(int)}.
     *
     * @param segmentSequence the segment holding the batch's last record
     * @param endOffsetBytes  offset in that segment just past the batch's last record
     */
    void onDurable(WalBatch batch, long segmentSequence, long endOffsetBytes);

    /** The batch is not (and never will be) acknowledged: the log failed or closed before making it durable. */
    void onFailed(WalBatch batch, WalFailedException error);
}
