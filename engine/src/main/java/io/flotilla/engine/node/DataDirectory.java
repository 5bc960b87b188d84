package io.flotilla.engine.node;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * One node's data directory, locked for the life of the node: {@code wal/} (the shared Raft log),
 * {@code rocksdb/} (the state machine, once it is RocksDB), {@code snapshots/} (received snapshot
 * images), {@code node.lock} (held with an OS file lock while the node runs; it names the holder's
 * process) and {@code cluster.properties} (the node and cluster ids the directory was created for,
 * written once and checked at every start), and while the node rejoins its cluster with nothing
 * ({@code --join}) {@code rejoin.pending}. Opened and closed by the thread that starts and stops
 * the node.
 */
public final class DataDirectory implements AutoCloseable {
    static final String LOCK_FILE = "node.lock";
    static final String IDENTITY_FILE = "cluster.properties";
    static final String REJOIN_FILE = "rejoin.pending";
    static final String RANGE_IDS_FILE = "range-ids";

    static final String JOINING_FILE = "joining-ranges";
    private final Path root;
    private final FileChannel lockChannel;
    private final FileLock lock;

    private DataDirectory(Path root, FileChannel lockChannel, FileLock lock) {
        this.root = root;
        this.lockChannel = lockChannel;
        this.lock = lock;
    }

    /**
     * Creates the directory if needed and takes its lock.
     *
     * @throws NodeLockedException if another node (in any process) holds it
     */
    public static DataDirectory lock(Path root) throws IOException {
        Files.createDirectories(root);
        Path lockFile = root.resolve(LOCK_FILE);
        FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException e) {
            lock = null;
        } catch (IOException | RuntimeException e) {
            channel.close();
            throw e;
        }
        if (lock == null) {
            String holder = holder(lockFile);
            channel.close();
            throw new NodeLockedException(root, holder);
        }
        try {
            byte[] me = ("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8);
            channel.truncate(0);
            channel.write(ByteBuffer.wrap(me), 0);
            channel.force(true);
        } catch (IOException | RuntimeException e) {
            lock.release();
            channel.close();
            throw e;
        }
        return new DataDirectory(root, channel, lock);
    }

    private static String holder(Path lockFile) {
        try {
            String text = Files.readString(lockFile, StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? "another process" : "the node with " + text;
        } catch (IOException e) {
            return "another process";
        }
    }

    public Path root() {
        return root;
    }

    public Path wal() {
        return root.resolve("wal");
    }

    public Path rocksdb() {
        return root.resolve("rocksdb");
    }

    public Path snapshots() {
        return root.resolve("snapshots");
    }

    /**
     * Checks that the directory was created for this node of this cluster, or records that it now is
     * (written to a temporary file, synced, renamed, directory synced).
     *
     * @param join whether a new directory rejoins an existing cluster: it is marked
     *             {@link #rejoining()} before its identity is written, so a crash in between never
     *             leaves an identity without the mark (the next start would bootstrap ranges afresh)
     * @return true if the identity was written now (a new directory)
     * @throws NodeIdentityException if it belongs to another node or cluster
     */
    public boolean claim(long nodeId, long clusterId, boolean join) throws IOException {
        Path file = root.resolve(IDENTITY_FILE);
        if (Files.exists(file)) {
            Properties p = new Properties();
            p.load(new StringReader(Files.readString(file, StandardCharsets.UTF_8)));
            long dirNode = parse(p, "node.id", file);
            long dirCluster = parse(p, "cluster.id", file);
            if (dirNode != nodeId || dirCluster != clusterId) {
                throw new NodeIdentityException("data directory " + root + " belongs to node " + dirNode + " of cluster "
                        + dirCluster + ", but this process was started as node " + nodeId + " of cluster " + clusterId
                        + ": fix --node-id / --cluster-id, or give this node its own --data-dir");
            }
            return false;
        }
        if (join) {
            writeDurably(REJOIN_FILE, "# This node joined an existing cluster with an empty data directory; removed once"
                    + " every range it belongs to holds its new replica as a voter.\n");
        }
        writeDurably(IDENTITY_FILE, "# Written once when this data directory was created; a node refuses to start on it"
                + " with other ids.\nnode.id=" + nodeId + "\ncluster.id=" + clusterId + "\n");
        return true;
    }

    /** Whether the node is still rejoining its cluster (see {@link #claim}). */
    public boolean rejoining() {
        return Files.exists(root.resolve(REJOIN_FILE));
    }

    /** Every range holds this node's new replica as a voter: the rejoin is over. */
    public void rejoined() throws IOException {
        Files.deleteIfExists(root.resolve(REJOIN_FILE));
        syncDirectory();
    }

    /** How many range ids this node has reserved for the ranges it splits off (see {@link RangeIds}); 0 if none. */
    long reservedRangeIds() throws IOException {
        Path file = root.resolve(RANGE_IDS_FILE);
        if (!Files.exists(file)) {
            return 0;
        }
        String text = Files.readString(file, StandardCharsets.UTF_8).trim();
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IOException(file + " holds '" + text + "', not a count of reserved range ids; it is damaged."
                    + " Write into it a number above every range id this node created (as listed by 'flotilla status',"
                    + " less node id * 2^32)", e);
        }
    }

    /**
     * The ranges this node was asked to start an empty replica of (the target of a move) and that
     * may hold no state yet: at startup their groups are hosted again, empty, instead of destroyed
     * as groups no range names. Empty if none.
     */
    Set<Long> joiningRanges() throws IOException {
        Path file = root.resolve(JOINING_FILE);
        Set<Long> ids = new TreeSet<>();
        if (!Files.exists(file)) {
            return ids;
        }
        for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
            if (!line.isBlank()) {
                try {
                    ids.add(Long.parseLong(line.trim()));
                } catch (NumberFormatException e) {
                    throw new IOException(file + " holds '" + line + "', not a range id; it is damaged. Delete it: a"
                            + " move to this node whose snapshot has not arrived then starts again", e);
                }
            }
        }
        return ids;
    }

    /** Records durably that the ranges {@code ids} are {@link #joiningRanges}. */
    void joiningRanges(Set<Long> ids) throws IOException {
        StringBuilder text = new StringBuilder();
        for (long id : ids) {
            text.append(id).append('\n');
        }
        writeDurably(JOINING_FILE, text.toString());
    }

    /** Records durably that this node has reserved the first {@code count} range ids of its own. */
    void reserveRangeIds(long count) throws IOException {
        writeDurably(RANGE_IDS_FILE, count + "\n");
    }

    /** Writes {@code name} through a synced temporary file renamed into place, then syncs the directory. */
    private void writeDurably(String name, String text) throws IOException {
        Path file = root.resolve(name);
        Path temp = root.resolve(name + ".tmp");
        try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            out.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8)));
            out.force(true);
        }
        try {
            Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING);
        }
        syncDirectory();
    }

    private void syncDirectory() throws IOException {
        try (FileChannel dir = FileChannel.open(root, StandardOpenOption.READ)) {
            dir.force(true);
        }
    }

    private static long parse(Properties p, String key, Path file) throws NodeIdentityException {
        String v = p.getProperty(key);
        try {
            return Long.parseLong(v == null ? "" : v.trim());
        } catch (NumberFormatException e) {
            throw new NodeIdentityException(file + " has no valid " + key + " (found '" + v + "'); it is damaged:"
                    + " restore it (node.id=..., cluster.id=...) or give this node a fresh --data-dir");
        }
    }

    /** Releases the lock; the directory's contents stay. */
    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            lockChannel.close();
        }
    }
}
