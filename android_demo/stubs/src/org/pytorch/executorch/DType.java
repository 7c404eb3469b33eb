package org.pytorch.executorch;

/** STUB (not ExecuTorch): the dtypes the demo checks; the real enum has more. */
public enum DType { UINT8, INT8, INT16, INT32, INT64, HALF, FLOAT, DOUBLE }
