package io.flotilla.wal;

import java.io.IOException;

/**
 * A segment is intact but not for this node: another format version, another cluster, another
 * node. Thrown to the recovering thread; nothing was changed on disk.
 */
public final class WalIncompatibleException extends IOException {
    private final String fileName;

    public WalIncompatibleException(String fileName, String detail, String whatToDo) {
        super("write-ahead log segment " + fileName + " " + detail + ": " + whatToDo);
        this.fileName = fileName;
    }

    public String fileName() {
        return fileName;
    }
}
