package io.flotilla.multiraft;

import io.flotilla.wal.WalDirectoryLock;
import io.flotilla.wal.WalFile;
import io.flotilla.wal.WalFileSystem;
import io.flotilla.wal.crash.CrashMode;
import io.flotilla.wal.crash.CrashSimFileSystem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/**
 * One simulated node's disk: a {@link CrashSimFileSystem} that survives the node's incarnations,
 * with a failpoint that cuts the power at the next {@code force}. When it fires, the force and every
 * later call fail, so the log's writer answers no batch of that group commit as durable; the
 * simulation then crashes the node with an image of the disk as of just before the force (written,
 * unsynced bytes lost, torn or kept, as the crash mode says). Owned by the seed's thread.
 */
final class RuntimeSimDisk implements WalFileSystem {
    private CrashSimFileSystem fs;
    private boolean powerCutAtNextForce;
    /** Boundary of {@link #fs} at which the power was cut; -1 while it is on. */
    private int cutAtBoundary = -1;

    RuntimeSimDisk(long tearSeed) {
        this.fs = new CrashSimFileSystem(CrashSimFileSystem.Fault.NONE, tearSeed);
    }

    /** Arms the failpoint: the next force on any file of this disk cuts the power instead. */
    void cutPowerAtNextForce() {
        powerCutAtNextForce = true;
    }

    void disarm() {
        powerCutAtNextForce = false;
    }

    boolean powerCut() {
        return cutAtBoundary >= 0;
    }

    /**
     * The power fails now (or failed at the armed force): the disk becomes what a restart finds,
     * per {@code mode}; the old handles stay dead. Returns a description for the trace.
     */
    String crash(CrashMode mode) {
        int boundary = cutAtBoundary >= 0 ? cutAtBoundary : fs.boundaries();
        String at = fs.describe(boundary);
        fs = fs.crashImage(boundary, mode);
        cutAtBoundary = -1;
        powerCutAtNextForce = false;
        return mode + " after " + at;
    }

    private void checkPower() throws IOException {
        if (cutAtBoundary >= 0) {
            throw new IOException("simulated power failure: the disk is gone");
        }
    }

    @Override
    public WalFile create(Path path) throws IOException {
        checkPower();
        return new File(fs.create(path));
    }

    @Override
    public WalFile open(Path path) throws IOException {
        checkPower();
        return new File(fs.open(path));
    }

    @Override
    public boolean exists(Path path) throws IOException {
        checkPower();
        return fs.exists(path);
    }

    @Override
    public void createDirectories(Path directory) throws IOException {
        checkPower();
        fs.createDirectories(directory);
    }

    @Override
    public void rename(Path from, Path to) throws IOException {
        checkPower();
        fs.rename(from, to);
    }

    @Override
    public void delete(Path path) throws IOException {
        checkPower();
        fs.delete(path);
    }

    @Override
    public List<String> list(Path directory) throws IOException {
        checkPower();
        return fs.list(directory);
    }

    @Override
    public void fsyncDirectory(Path directory) throws IOException {
        checkPower();
        fs.fsyncDirectory(directory);
    }

    @Override
    public WalDirectoryLock lock(Path directory) throws IOException {
        checkPower();
        return fs.lock(directory);
    }

    /** A file of the current image; a force while the failpoint is armed cuts the power. */
    private final class File implements WalFile {
        private final WalFile file;
        private final CrashSimFileSystem owner = fs;

        File(WalFile file) {
            this.file = file;
        }

        /** A handle from before a crash belongs to a disk that no longer exists. */
        private void check() throws IOException {
            checkPower();
            if (owner != fs) {
                throw new IOException("simulated power failure: " + file.path() + " was opened before the crash");
            }
        }

        @Override
        public Path path() {
            return file.path();
        }

        @Override
        public void write(ByteBuffer src, long positionBytes) throws IOException {
            check();
            file.write(src, positionBytes);
        }

        @Override
        public int read(ByteBuffer dst, long positionBytes) throws IOException {
            check();
            return file.read(dst, positionBytes);
        }

        @Override
        public void force() throws IOException {
            check();
            if (powerCutAtNextForce) {
                powerCutAtNextForce = false;
                cutAtBoundary = fs.boundaries();
                throw new IOException("simulated power failure during force of " + file.path());
            }
            file.force();
        }

        @Override
        public long sizeBytes() throws IOException {
            check();
            return file.sizeBytes();
        }

        @Override
        public void truncate(long sizeBytes) throws IOException {
            check();
            file.truncate(sizeBytes);
        }

        @Override
        public void close() throws IOException {
            if (owner == fs) {
                file.close();
            }
        }
    }
}
