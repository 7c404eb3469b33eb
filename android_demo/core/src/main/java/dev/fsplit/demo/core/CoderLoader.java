package dev.fsplit.demo.core;

import java.io.File;

/** Reads the artifact's codec tables file and returns a coder bound to it. */
public interface CoderLoader {
    LatentCoder load(Manifest manifest, File tablesFile) throws CodingException;
}
