package io.flotilla.raft;

import java.nio.charset.StandardCharsets;

/** Renders payloads for traces and error messages. */
final class Printable {
    private Printable() {
    }

    /** Printable ASCII as text, anything else as hex, at most 32 bytes. */
    static String bytes(byte[] data) {
        boolean text = true;
        for (byte b : data) {
            if (b < 0x20 || b > 0x7e) {
                text = false;
                break;
            }
        }
        if (text) {
            return data.length <= 32 ? new String(data, StandardCharsets.US_ASCII)
                    : new String(data, 0, 32, StandardCharsets.US_ASCII) + "...";
        }
        StringBuilder b = new StringBuilder("0x");
        for (int i = 0; i < Math.min(data.length, 32); i++) {
            b.append(Character.forDigit((data[i] >> 4) & 0xf, 16)).append(Character.forDigit(data[i] & 0xf, 16));
        }
        return data.length > 32 ? b + "..." : b.toString();
    }
}
