package io.flotilla.engine.rocks;

import io.flotilla.transport.snapshot.SnapshotSource;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * One byte image of the regular files of a directory, as the snapshot channel streams it: a header
 * (magic {@code FLDI}, file count, each file's name and size, the header's CRC32C), then every
 * file's bytes in the header's order. The sender's {@link Reader} reads the files in place, by
 * offset, without copying them; {@link #unpack} writes them back into a directory on the receiver.
 * The channel checks the whole image's CRC32C; the header's own CRC makes a mangled header fail
 * before anything is unpacked. Readers are used by the snapshot channel's I/O thread.
 */
final class DirectoryImage {
    private static final int MAGIC = 0x464c4449;
    private static final int MAX_FILES = 1 << 20;

    private DirectoryImage() {
    }

    /**
     * A reader over the regular files of {@code directory} (not its subdirectories) whose names
     * {@code include} accepts; they must not change while it is open. Closing it deletes
     * {@code deleteOnClose} (recursively) if not null.
     */
    static SnapshotSource.Reader reader(Path directory, Predicate<String> include, Path deleteOnClose) throws IOException {
        List<Path> files = new ArrayList<>();
        try (Stream<Path> list = Files.list(directory)) {
            list.filter(f -> Files.isRegularFile(f) && include.test(f.getFileName().toString())).sorted().forEach(files::add);
        }
        long[] sizes = new long[files.size()];
        ByteArrayOutputStream headerBytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(headerBytes)) {
            out.writeInt(MAGIC);
            out.writeInt(files.size());
            for (int i = 0; i < files.size(); i++) {
                sizes[i] = Files.size(files.get(i));
                byte[] name = files.get(i).getFileName().toString().getBytes(StandardCharsets.UTF_8);
                out.writeShort(name.length);
                out.write(name);
                out.writeLong(sizes[i]);
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(headerBytes.toByteArray());
        headerBytes.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
        return new Reader(headerBytes.toByteArray(), files, sizes, deleteOnClose);
    }

    /** Reads one image in place. */
    private static final class Reader implements SnapshotSource.Reader {
        private final byte[] header;
        private final List<Path> files;
        /** starts[i]: offset of file i in the image; starts[n]: the image's size. */
        private final long[] starts;
        private final FileChannel[] channels;
        private final Path deleteOnClose;
        private boolean checksummed;
        private int checksum;

        Reader(byte[] header, List<Path> files, long[] sizes, Path deleteOnClose) {
            this.header = header;
            this.files = files;
            this.starts = new long[files.size() + 1];
            starts[0] = header.length;
            for (int i = 0; i < sizes.length; i++) {
                starts[i + 1] = starts[i] + sizes[i];
            }
            this.channels = new FileChannel[files.size()];
            this.deleteOnClose = deleteOnClose;
        }

        @Override
        public long totalBytes() {
            return starts[files.size()];
        }

        /** CRC32C of the whole image, computed on first call (on the channel's thread, not the worker's). */
        @Override
        public synchronized int checksum() {
            if (!checksummed) {
                CRC32C crc = new CRC32C();
                ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
                try {
                    for (long offset = 0; offset < totalBytes(); offset += buffer.limit()) {
                        buffer.clear().limit((int) Math.min(buffer.capacity(), totalBytes() - offset));
                        read(offset, buffer);
                        crc.update(buffer.flip());
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read a snapshot image to checksum it", e);
                }
                checksum = (int) crc.getValue();
                checksummed = true;
            }
            return checksum;
        }

        @Override
        public synchronized void read(long offset, ByteBuffer dst) throws IOException {
            if (offset < 0 || offset + dst.remaining() > totalBytes()) {
                throw new IllegalArgumentException("read of " + dst.remaining() + " bytes at " + offset + " is outside a "
                        + totalBytes() + "-byte image");
            }
            while (dst.hasRemaining()) {
                if (offset < header.length) {
                    int n = (int) Math.min(dst.remaining(), header.length - offset);
                    dst.put(header, (int) offset, n);
                    offset += n;
                    continue;
                }
                int file = fileAt(offset);
                long inFile = offset - starts[file];
                int n = (int) Math.min(dst.remaining(), starts[file + 1] - offset);
                ByteBuffer slice = dst.slice().limit(n);
                FileChannel channel = channel(file);
                while (slice.hasRemaining()) {
                    if (channel.read(slice, inFile + slice.position()) < 0) {
                        throw new IOException(files.get(file) + " became shorter while it was part of a snapshot image");
                    }
                }
                dst.position(dst.position() + n);
                offset += n;
            }
        }

        /** The file holding image byte {@code offset} (past the header). */
        private int fileAt(long offset) {
            int lo = 0;
            int hi = files.size() - 1;
            while (lo < hi) {
                int mid = (lo + hi + 1) >>> 1;
                if (starts[mid] <= offset) {
                    lo = mid;
                } else {
                    hi = mid - 1;
                }
            }
            return lo;
        }

        private FileChannel channel(int file) throws IOException {
            if (channels[file] == null) {
                channels[file] = FileChannel.open(files.get(file), StandardOpenOption.READ);
            }
            return channels[file];
        }

        @Override
        public synchronized void close() {
            for (int i = 0; i < channels.length; i++) {
                if (channels[i] != null) {
                    try {
                        channels[i].close();
                    } catch (IOException e) {
                        // Read-only; nothing is lost.
                    }
                    channels[i] = null;
                }
            }
            if (deleteOnClose != null) {
                deleteRecursively(deleteOnClose);
            }
        }
    }

    /**
     * Writes the files of the image in {@code image} into {@code directory} (created; must not
     * exist), each forced to disk.
     *
     * @throws IOException if the image is not a whole directory image
     */
    static void unpack(Path image, Path directory) throws IOException {
        long imageBytes = Files.size(image);
        Files.createDirectories(directory.getParent());
        Files.createDirectory(directory);
        try (InputStream raw = Files.newInputStream(image);
                DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw, 1 << 16))) {
            CRC32C crc = new CRC32C();
            ByteArrayOutputStream headerCopy = new ByteArrayOutputStream();
            DataOutputStream copy = new DataOutputStream(headerCopy);
            int magic = in.readInt();
            copy.writeInt(magic);
            if (magic != MAGIC) {
                throw new IOException(image + " is not a directory image (bad magic)");
            }
            int count = in.readInt();
            copy.writeInt(count);
            if (count < 0 || count > MAX_FILES) {
                throw new IOException(image + " claims " + count + " files");
            }
            List<String> names = new ArrayList<>(count);
            long[] sizes = new long[count];
            long total = 0;
            for (int i = 0; i < count; i++) {
                byte[] name = new byte[in.readUnsignedShort()];
                in.readFully(name);
                sizes[i] = in.readLong();
                copy.writeShort(name.length);
                copy.write(name);
                copy.writeLong(sizes[i]);
                String fileName = new String(name, StandardCharsets.UTF_8);
                if (fileName.isEmpty() || fileName.contains("/") || fileName.equals(".") || fileName.equals("..")
                        || sizes[i] < 0) {
                    throw new IOException(image + " holds a bad file entry: '" + fileName + "' of " + sizes[i] + " bytes");
                }
                names.add(fileName);
                total += sizes[i];
            }
            copy.flush();
            crc.update(headerCopy.toByteArray());
            if (in.readInt() != (int) crc.getValue()) {
                throw new IOException(image + " fails its header CRC32C: it is damaged");
            }
            if (headerCopy.size() + 4 + total != imageBytes) {
                throw new IOException(image + " has " + imageBytes + " bytes, its header describes "
                        + (headerCopy.size() + 4 + total));
            }
            byte[] buffer = new byte[1 << 16];
            for (int i = 0; i < count; i++) {
                Path target = directory.resolve(names.get(i));
                try (OutputStream out = Files.newOutputStream(target, StandardOpenOption.CREATE_NEW)) {
                    for (long left = sizes[i]; left > 0; ) {
                        int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                        if (n < 0) {
                            throw new IOException(image + " ends inside " + names.get(i));
                        }
                        out.write(buffer, 0, n);
                        left -= n;
                    }
                }
                try (FileChannel c = FileChannel.open(target, StandardOpenOption.WRITE)) {
                    c.force(true);
                }
            }
        }
    }

    /** Deletes a file or directory tree; a missing one is nothing to do. Failures are left for the next start's cleanup. */
    static void deleteRecursively(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(root)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    // The temp directory is cleared again at the next open.
                }
            });
        } catch (IOException e) {
            // As above.
        }
    }
}
