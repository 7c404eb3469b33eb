/*
 * fsplit_interleaved.h - the interleaved rANS payload: N independent 32-bit rANS states (lanes)
 * over the same CDF tables and escape scheme as fsplit_rans.h, so a CPU codes 8 to 32 symbols at
 * once. Symbol i is coded by lane i mod N; the states share one byte stream. Layout and the exact
 * order of bytes in docs/formats.md, section 4.
 *
 * Three implementations give byte-identical streams: portable C99 scalar, AVX2 (x86_64) and NEON
 * (aarch64). FSR_IMPL_AUTO picks the fastest one the CPU supports at run time. Like the single
 * stream: no global state, no allocation, safe on untrusted input (every problem is an error code).
 */
#ifndef FSPLIT_INTERLEAVED_H
#define FSPLIT_INTERLEAVED_H

#include "fsplit_rans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSR_ILV_STATE_LOW (UINT32_C(1) << 24) /* lane states stay in [2^24, 2^32) */

/* Implementations (fsr_ilv_*_with). */
enum { FSR_IMPL_AUTO = 0, FSR_IMPL_SCALAR = 1, FSR_IMPL_AVX2 = 2, FSR_IMPL_NEON = 3 };

/* Whether `lanes` is a supported lane count (8, 16 or 32). */
int fsr_ilv_lanes_supported(uint32_t lanes);

/* Whether this build and CPU can run implementation `impl` (FSR_IMPL_AUTO and SCALAR: always). */
int fsr_ilv_impl_available(int impl);

/* The implementation FSR_IMPL_AUTO resolves to here, and a name for it ("scalar", "avx2", "neon"). */
int fsr_ilv_impl_auto(void);
const char *fsr_ilv_impl_name(int impl);

/* Upper bound in bytes of an interleaved payload of n symbols (0 on overflow or bad lanes). */
size_t fsr_ilv_encode_bound(size_t n, uint32_t lanes);

/*
 * Encode num_planes planes of plane_size symbols (C order; every symbol of plane p uses row p) with
 * `lanes` interleaved states. The SIMD decoders need t->lookup (fsr_lookup_build) and fall back
 * to scalar code without it; encoding does not use it. Unlike fsr_decode, the interleaved decoder
 * does not check the whole lookup on every call (for 48 rows that took as long as the SIMD decode
 * itself): it clamps each bound it reads to the row and verifies every slot it finds
 * (cdf[s] <= cum < cdf[s+1]), so a lookup of other tables gives FSR_ERR_TABLES or the right
 * symbols, never wrong ones or an out-of-bounds read.
 */
int fsr_ilv_encode_planar(const fsr_tables *t, uint32_t lanes, const int32_t *symbols, uint32_t num_planes,
                          size_t plane_size, uint8_t *out, size_t out_capacity, size_t *out_len);
int fsr_ilv_decode_planar(const fsr_tables *t, uint32_t lanes, uint32_t num_planes, size_t plane_size,
                          const uint8_t *data, size_t data_len, int32_t *symbols_out);

/* The same with an explicit implementation (FSR_ERR_ARGUMENT if it is not available here). */
int fsr_ilv_encode_planar_with(int impl, const fsr_tables *t, uint32_t lanes, const int32_t *symbols,
                               uint32_t num_planes, size_t plane_size, uint8_t *out, size_t out_capacity,
                               size_t *out_len);
int fsr_ilv_decode_planar_with(int impl, const fsr_tables *t, uint32_t lanes, uint32_t num_planes,
                               size_t plane_size, const uint8_t *data, size_t data_len, int32_t *symbols_out);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_INTERLEAVED_H */
