package dev.fsplit.codec;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Validated per-channel CDF tables (CompressAI EntropyBottleneck layout) and the .fsct tables file
 * (docs/formats.md): "FSCT", u16 version, u16 precision, u32 channels, u32 max_length, per channel
 * i32 offset, u32 cdf_length, cdf_length x u32 CDF, then the SHA-256 of all preceding bytes.
 * Immutable and safe to share between threads.
 */
public final class CodecTables {
    public static final int FORMAT_VERSION = 1;
    static final int HEADER_SIZE = 16;
    static final int HASH_SIZE = 32;
    static final int MAX_CHANNELS = 65536;
    static final long MAX_ENTRIES = 1L << 24;
    private static final byte[] MAGIC = {'F', 'S', 'C', 'T'};

    static final int LOOKUP_BITS = 8;
    /** Most slots (CDF entries less one per row) given encoder reciprocals: 8 MiB; larger tables divide (the C
     * coder's FSR_ETABLE_MAX_ENTRIES). */
    static final int MAX_RECIPROCAL_SLOTS = 1 << 20;

    private final int[][] cdf; // row c has exactly cdfLength(c) entries
    private final int[][] lookup; // per row, the slot holding each of 2^8 + 1 evenly spaced cumulative values
    private final int[] offset;
    private final int precision;
    private volatile double[][] reciprocals;
    private final long slots; // sum over rows of cdfLength - 1
    private volatile long[][] encoderReciprocals;
    private final byte[] fileBytes;
    private final byte[] hash;

    private CodecTables(int[][] cdf, int[] offset, int precision) {
        this.cdf = cdf;
        this.offset = offset;
        this.precision = precision;
        this.lookup = new int[cdf.length][];
        long n = 0;
        for (int[] row : cdf) {
            n += row.length - 1;
        }
        this.slots = n;
        int bits = Math.min(precision, LOOKUP_BITS);
        for (int c = 0; c < cdf.length; c++) {
            int[] row = cdf[c];
            int[] lk = new int[(1 << bits) + 1];
            int last = row.length - 2;
            int s = 0;
            for (int b = 0; b <= 1 << bits; b++) {
                int target = b << (precision - bits);
                while (s < last && row[s + 1] <= target) {
                    s++;
                }
                lk[b] = s;
            }
            lookup[c] = lk;
        }
        byte[] body = serialize();
        this.hash = sha256(body, body.length - HASH_SIZE);
        System.arraycopy(hash, 0, body, body.length - HASH_SIZE, HASH_SIZE);
        this.fileBytes = body;
    }

    /**
     * Build from CompressAI-style arrays: row c of {@code cdf} holds at least {@code cdfLength[c]} entries
     * (longer rows are padding). Throws when a row does not start at 0, decreases, or does not end at
     * 2^precision, or when lengths are out of range.
     */
    public static CodecTables fromArrays(int[][] cdf, int[] cdfLength, int[] offset, int precision)
            throws InvalidTablesException {
        if (cdf == null || cdfLength == null || offset == null) {
            throw new InvalidTablesException("cdf, cdfLength and offset must not be null");
        }
        if (cdf.length == 0 || cdf.length > MAX_CHANNELS) {
            throw new InvalidTablesException("channel count " + cdf.length + " outside 1.." + MAX_CHANNELS);
        }
        if (cdfLength.length != cdf.length || offset.length != cdf.length) {
            throw new InvalidTablesException("cdf has " + cdf.length + " channels but cdfLength has "
                    + cdfLength.length + " and offset " + offset.length + " entries");
        }
        if (precision < 1 || precision > 16) {
            throw new InvalidTablesException("precision must be in 1..16, got " + precision);
        }
        int[][] rows = new int[cdf.length][];
        long longest = 0;
        for (int c = 0; c < cdf.length; c++) {
            int n = cdfLength[c];
            int width = cdf[c] == null ? 0 : cdf[c].length;
            if (n < 2 || n > width || n > (1 << precision) + 1) {
                throw new InvalidTablesException("channel " + c + ": cdf_length " + n + " outside [2, "
                        + Math.min(width, (1 << precision) + 1) + "]");
            }
            rows[c] = Arrays.copyOf(cdf[c], n);
            longest = Math.max(longest, n);
            String problem = rowProblem(rows[c], precision);
            if (problem != null) {
                throw new InvalidTablesException("channel " + c + ": " + problem);
            }
        }
        if (longest * cdf.length > MAX_ENTRIES) {
            throw new InvalidTablesException("tables of " + cdf.length + " x " + longest + " entries exceed the limit of "
                    + MAX_ENTRIES);
        }
        return new CodecTables(rows, offset.clone(), precision);
    }

    private static String rowProblem(int[] row, int precision) {
        int total = 1 << precision;
        if (row[0] != 0) {
            return "cdf must start at 0, starts at " + row[0];
        }
        if (row[row.length - 1] != total) {
            return "cdf must end at 2^" + precision + " = " + total + ", ends at " + row[row.length - 1];
        }
        for (int k = 1; k < row.length; k++) {
            if (row[k] < row[k - 1]) {
                return "cdf decreases at entry " + k + " (" + row[k - 1] + " -> " + row[k] + ")";
            }
        }
        return null;
    }

    /** Parse a .fsct file; every structural problem, a hash mismatch or invalid CDFs throw. */
    public static CodecTables read(byte[] data) throws InvalidTablesException {
        if (data.length < HEADER_SIZE + HASH_SIZE) {
            throw new InvalidTablesException("tables file truncated: " + data.length + " bytes, header and hash need 48");
        }
        ByteBuffer buf = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (int k = 0; k < 4; k++) {
            if (data[k] != MAGIC[k]) {
                throw new InvalidTablesException("not a codec tables file (bad magic)");
            }
        }
        int version = buf.getShort(4) & 0xFFFF;
        int precision = buf.getShort(6) & 0xFFFF;
        long channels = buf.getInt(8) & 0xFFFFFFFFL;
        long maxLength = buf.getInt(12) & 0xFFFFFFFFL;
        if (version != FORMAT_VERSION) {
            throw new InvalidTablesException("unsupported tables format version " + version);
        }
        if (precision < 1 || precision > 16) {
            throw new InvalidTablesException("precision " + precision + " outside 1..16");
        }
        if (channels < 1 || channels > MAX_CHANNELS) {
            throw new InvalidTablesException("channel count " + channels + " outside 1.." + MAX_CHANNELS);
        }
        if (maxLength < 2 || maxLength > (1L << precision) + 1) {
            throw new InvalidTablesException("max_length " + maxLength + " outside 2.." + ((1 << precision) + 1));
        }
        if (channels * maxLength > MAX_ENTRIES) {
            throw new InvalidTablesException("tables of " + channels + " x " + maxLength + " entries exceed the limit");
        }
        int bodyEnd = data.length - HASH_SIZE;
        int pos = HEADER_SIZE;
        int[][] rows = new int[(int) channels][];
        int[] offsets = new int[(int) channels];
        long longest = 0;
        for (int c = 0; c < channels; c++) {
            if (bodyEnd - pos < 8) {
                throw new InvalidTablesException("tables file truncated in the record of channel " + c);
            }
            offsets[c] = buf.getInt(pos);
            long n = buf.getInt(pos + 4) & 0xFFFFFFFFL;
            pos += 8;
            if (n < 2 || n > maxLength) {
                throw new InvalidTablesException("channel " + c + ": cdf_length " + n + " outside [2, " + maxLength + "]");
            }
            if ((bodyEnd - pos) / 4 < n) {
                throw new InvalidTablesException("tables file truncated in the CDF of channel " + c);
            }
            int[] row = new int[(int) n];
            for (int k = 0; k < n; k++, pos += 4) {
                long v = buf.getInt(pos) & 0xFFFFFFFFL;
                if (v > (1L << precision)) {
                    throw new InvalidTablesException("channel " + c + ": cdf value " + v + " exceeds 2^" + precision);
                }
                row[k] = (int) v;
            }
            rows[c] = row;
            longest = Math.max(longest, n);
        }
        if (pos != bodyEnd) {
            throw new InvalidTablesException("tables file has " + (bodyEnd - pos) + " unexpected bytes before its hash");
        }
        if (longest != maxLength) {
            throw new InvalidTablesException("header max_length " + maxLength + " but the longest CDF has " + longest);
        }
        byte[] actual = sha256(data, bodyEnd);
        if (!Arrays.equals(actual, Arrays.copyOfRange(data, bodyEnd, data.length))) {
            throw new InvalidTablesException("tables file content hash mismatch: the file is damaged");
        }
        for (int c = 0; c < channels; c++) {
            String problem = rowProblem(rows[c], precision);
            if (problem != null) {
                throw new InvalidTablesException("channel " + c + ": " + problem);
            }
        }
        return new CodecTables(rows, offsets, precision);
    }

    /** Read a whole .fsct stream (e.g. an Android asset). */
    public static CodecTables read(InputStream in) throws IOException, InvalidTablesException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] chunk = new byte[8192];
        int n;
        while ((n = in.read(chunk)) > 0) {
            out.write(chunk, 0, n);
            if (out.size() > 64 * 1024 * 1024) {
                throw new InvalidTablesException("tables file larger than 64 MiB");
            }
        }
        return read(out.toByteArray());
    }

    private byte[] serialize() {
        int size = HEADER_SIZE + HASH_SIZE;
        int longest = 0;
        for (int[] row : cdf) {
            size += 8 + 4 * row.length;
            longest = Math.max(longest, row.length);
        }
        ByteBuffer buf = ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
        buf.put(MAGIC).putShort((short) FORMAT_VERSION).putShort((short) precision)
                .putInt(cdf.length).putInt(longest);
        for (int c = 0; c < cdf.length; c++) {
            buf.putInt(offset[c]).putInt(cdf[c].length);
            for (int v : cdf[c]) {
                buf.putInt(v);
            }
        }
        return buf.array();
    }

    static byte[] sha256(byte[] data, int length) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(data, 0, length);
            return md.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e); // required of every Java platform
        }
    }

    /** The complete .fsct file content. */
    public byte[] toBytes() {
        return fileBytes.clone();
    }

    /** SHA-256 of the file content before the hash (32 bytes). */
    public byte[] contentHash() {
        return hash.clone();
    }

    /** The content hash as lowercase hex, as recorded in manifest.json. */
    public String contentHashHex() {
        StringBuilder sb = new StringBuilder(64);
        for (byte b : hash) {
            sb.append(Character.forDigit((b >> 4) & 15, 16)).append(Character.forDigit(b & 15, 16));
        }
        return sb.toString();
    }

    boolean hashPrefixEquals(byte[] data, int offsetInData, int length) {
        for (int k = 0; k < length; k++) {
            if (data[offsetInData + k] != hash[k]) {
                return false;
            }
        }
        return true;
    }

    public int numChannels() {
        return cdf.length;
    }

    public int precision() {
        return precision;
    }

    public int cdfLength(int channel) {
        return cdf[channel].length;
    }

    public int offset(int channel) {
        return offset[channel];
    }

    /** A copy of one channel's CDF (cdfLength entries). */
    public int[] cdf(int channel) {
        return cdf[channel].clone();
    }

    int[] row(int channel) {
        return cdf[channel];
    }

    /**
     * Per row and slot, 1.0 / freq (0 for zero-width slots): the interleaved encoder divides by multiplying
     * with it and correcting the quotient by one (exact, as a double keeps 53 bits). Built on first use; a
     * race only builds it twice.
     */
    double[][] reciprocals() {
        double[][] r = reciprocals;
        if (r == null) {
            r = new double[cdf.length][];
            for (int c = 0; c < cdf.length; c++) {
                int[] row = cdf[c];
                r[c] = new double[row.length - 1];
                for (int s = 0; s + 1 < row.length; s++) {
                    int f = row[s + 1] - row[s];
                    r[c][s] = f > 0 ? 1.0 / f : 0.0;
                }
            }
            reciprocals = r;
        }
        return r;
    }

    /**
     * Per row and slot, {@link RansCodec#reciprocal} of its frequency (0 for zero-width slots), for the single-stream
     * encoder. Built once, on the first call for at least as many symbols as the tables have slots (so a one-off
     * encode of a few symbols with large tables does not pay for it); null until then, and always when the tables
     * have more than {@link #MAX_RECIPROCAL_SLOTS} slots (the encoder then divides). A race only builds it twice;
     * the volatile field publishes the filled arrays.
     */
    long[][] encoderReciprocals(long symbols) {
        long[][] r = encoderReciprocals;
        if (r == null) {
            if (slots > MAX_RECIPROCAL_SLOTS || symbols < slots) {
                return null;
            }
            r = new long[cdf.length][];
            for (int c = 0; c < cdf.length; c++) {
                int[] row = cdf[c];
                r[c] = new long[row.length - 1];
                for (int s = 0; s + 1 < row.length; s++) {
                    int f = row[s + 1] - row[s];
                    r[c][s] = f > 0 ? RansCodec.reciprocal(f) : 0;
                }
            }
            encoderReciprocals = r;
        }
        return r;
    }

    int[] lookupRow(int channel) {
        return lookup[channel];
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof CodecTables && Arrays.equals(hash, ((CodecTables) other).hash);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(hash);
    }

    @Override
    public String toString() {
        return "CodecTables(channels=" + cdf.length + ", precision=" + precision + ", hash="
                + contentHashHex().substring(0, 16) + ")";
    }
}
