package io.flotilla.engine.rocks;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;

/**
 * Loads RocksDB's native library from a fixed directory (the data directory's {@code lib/}),
 * copying it there from the rocksdbjni jar only when it is missing or differs in size. RocksDB's own
 * loader copies the 17 MB library to {@code /tmp} on every start and a killed process leaves it
 * behind; this one copies once and leaves nothing in {@code /tmp}. Must run before any other RocksDB
 * class is touched. Thread-safe; the first call in a process loads, later calls do nothing.
 */
final class RocksNativeLibrary {
    private static boolean loaded;

    private RocksNativeLibrary() {
    }

    static synchronized void load(Path libDirectory) {
        if (loaded) {
            return;
        }
        String name = Environment.getJniLibraryFileName("rocksdb");
        // RocksDB.loadLibrary(paths) looks for getJniLibraryFileName("rocksdbjni") in each path
        // ("librocksdbjnijni-linux64.so" in 11.8.1): the copy takes the name it looks for.
        String fileName = Environment.getJniLibraryFileName("rocksdbjni");
        URL resource = RocksDB.class.getClassLoader().getResource(name);
        if (resource == null) {
            throw new IllegalStateException("the rocksdbjni jar has no native library " + name + " for this platform");
        }
        try {
            Files.createDirectories(libDirectory);
            Path target = libDirectory.resolve(fileName);
            long size = resource.openConnection().getContentLengthLong();
            if (!Files.exists(target) || size < 0 || Files.size(target) != size) {
                Path partial = Files.createTempFile(libDirectory, fileName, ".partial");
                try (InputStream in = resource.openStream()) {
                    Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
                    Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } finally {
                    Files.deleteIfExists(partial);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot place RocksDB's native library in " + libDirectory, e);
        }
        RocksDB.loadLibrary(List.of(libDirectory.toAbsolutePath().toString()));
        loaded = true;
    }
}
