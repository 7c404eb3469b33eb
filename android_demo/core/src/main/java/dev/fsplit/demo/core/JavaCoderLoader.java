package dev.fsplit.demo.core;

import dev.fsplit.codec.CodecTables;
import dev.fsplit.codec.InvalidTablesException;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;

/**
 * Reads the artifact's tables file with the pure-Java coder and checks it is the one the manifest names (its
 * content hash), so the phone never codes with tables the server will refuse. Streams are written in the payload
 * the manifest names (docs/artifact.md "payload").
 */
public final class JavaCoderLoader implements CoderLoader {
    @Override
    public LatentCoder load(Manifest manifest, File tablesFile) throws CodingException {
        CodecTables tables;
        try {
            tables = CodecTables.read(Files.readAllBytes(tablesFile.toPath()));
        } catch (IOException e) {
            throw new CodingException("cannot read " + tablesFile + ": " + e, e);
        } catch (InvalidTablesException e) {
            throw new CodingException(tablesFile + " is not a valid tables file: " + e.getMessage(), e);
        }
        String expected = manifest.tablesContentHash;
        if (expected != null && !expected.equalsIgnoreCase(tables.contentHashHex())) {
            throw new CodingException(tablesFile + " has content hash " + tables.contentHashHex()
                    + " but manifest.json names " + expected + " (tables from another export?)");
        }
        if (tables.numChannels() != manifest.latent.channels) {
            throw new CodingException(tablesFile + " has " + tables.numChannels() + " channels, the latent has "
                    + manifest.latent.channels);
        }
        if (tables.precision() != manifest.tablesPrecision) {
            throw new CodingException(tablesFile + " has precision " + tables.precision() + ", manifest.json says "
                    + manifest.tablesPrecision);
        }
        // the payload the manifest names, at the rate point it is a view of (0 unless fsplit-bench --rate-point)
        return new JavaLatentCoder(tables, manifest.streamFormat(manifest.viewRatePoint));
    }
}
