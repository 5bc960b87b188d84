package io.flotilla.engine.rocks;

import io.flotilla.engine.kv.ApplyState;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.rocksdb.Checkpoint;
import org.rocksdb.ColumnFamilyDescriptor;
import org.rocksdb.ColumnFamilyHandle;
import org.rocksdb.ColumnFamilyOptions;
import org.rocksdb.DBOptions;
import org.rocksdb.ExportImportFilesMetaData;
import org.rocksdb.ImportColumnFamilyOptions;
import org.rocksdb.InfoLogLevel;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;

/**
 * The format of a range's snapshot image: a small RocksDB database of its own whose one column
 * family holds the range's exported SST files (keys and apply state). The Java API can neither read
 * nor rebuild the file list that {@code createColumnFamilyWithImport} needs, so an export cannot be
 * shipped as files alone; a database holding them can be exported again on the receiver. Only hard
 * links move: no data is copied. Also the export of a family that a split imports again in the same
 * database. Stateless; called by the thread that exports or imports.
 */
final class ImageDatabase {
    private static final byte[] IMAGE_FAMILY = "image".getBytes(StandardCharsets.UTF_8);

    /** Installs the exported files of a received image as the range's state; the store does it. */
    @FunctionalInterface
    interface Installer {
        void install(ApplyState state, ExportImportFilesMetaData files) throws RocksDBException;
    }

    /** Uses the files of an export before their metadata is released. */
    @FunctionalInterface
    interface ExportUser<T> {
        T use(ExportImportFilesMetaData files) throws RocksDBException;
    }

    private ImageDatabase() {
    }

    /**
     * Exports {@code family} of {@code db} into {@code sst} (which must not exist):
     * {@code Checkpoint.exportColumnFamily} flushes the family's memtable (so the export holds
     * everything written to it) and hard-links its SST files. Hands the files to {@code user}.
     */
    static <T> T export(RocksDB db, ColumnFamilyHandle family, Path sst, ExportUser<T> user) throws RocksDBException {
        try (Checkpoint checkpoint = Checkpoint.create(db);
                ExportImportFilesMetaData files = checkpoint.exportColumnFamily(family, sst.toString())) {
            return user.use(files);
        }
    }

    /** RocksDB's lock file and info logs are not part of an image. */
    static boolean partOfImage(String fileName) {
        return !fileName.equals("LOCK") && !fileName.startsWith("LOG");
    }

    /** Creates the image database in {@code image} from an export (its files are moved in). */
    static void write(Path image, ExportImportFilesMetaData files) throws RocksDBException {
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions().setCreateIfMissing(true).setInfoLogLevel(InfoLogLevel.ERROR_LEVEL);
                ColumnFamilyOptions familyOptions = new ColumnFamilyOptions();
                ImportColumnFamilyOptions move = new ImportColumnFamilyOptions().setMoveFiles(true);
                RocksDB imageDb = RocksDB.open(options, image.toString(),
                        List.of(new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, familyOptions)), handles)) {
            try {
                handles.add(imageDb.createColumnFamilyWithImport(new ColumnFamilyDescriptor(IMAGE_FAMILY, familyOptions),
                        move, files));
            } finally {
                for (ColumnFamilyHandle h : handles) {
                    h.close();
                }
            }
        }
    }

    /**
     * Opens the image database unpacked in {@code imageDbDir}, checks that it is an image of
     * {@code groupId}, exports its family into {@code sst} and hands the files to {@code installer}.
     *
     * @return the range's apply state as the image holds it
     * @throws IOException if {@code image} is not an image of that range
     */
    static ApplyState read(long groupId, Path image, Path imageDbDir, Path sst, Installer installer)
            throws IOException, RocksDBException {
        List<ColumnFamilyHandle> handles = new ArrayList<>();
        try (DBOptions options = new DBOptions().setInfoLogLevel(InfoLogLevel.ERROR_LEVEL);
                ColumnFamilyOptions familyOptions = new ColumnFamilyOptions();
                RocksDB imageDb = RocksDB.open(options, imageDbDir.toString(), List.of(
                        new ColumnFamilyDescriptor(RocksDB.DEFAULT_COLUMN_FAMILY, familyOptions),
                        new ColumnFamilyDescriptor(IMAGE_FAMILY, familyOptions)), handles)) {
            try {
                ColumnFamilyHandle imageFamily = handles.get(1);
                byte[] stateBytes = imageDb.get(imageFamily, RocksKeys.APPLY_STATE);
                if (stateBytes == null) {
                    throw new IOException(image + " holds no apply state: it is not a range image");
                }
                ApplyState state = ApplyState.decode(stateBytes);
                if (state.groupId() != groupId) {
                    throw new IOException(image + " is an image of range " + state.groupId() + ", not " + groupId);
                }
                return export(imageDb, imageFamily, sst, files -> {
                    installer.install(state, files);
                    return state;
                });
            } finally {
                for (ColumnFamilyHandle h : handles) {
                    h.close();
                }
            }
        }
    }
}
