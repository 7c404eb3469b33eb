/*
 * fsplit_container.h - the stream container around an rANS payload: magic, version, flags
 * (payload format, interleaved lanes, rate point), table-hash prefix, latent shape (C, H, W),
 * payload length and CRC-32, so a decoder holding other tables refuses the stream and never
 * guesses the payload format. Layout in docs/formats.md.
 *
 * Version 1 has flags 0 (single CompressAI-compatible stream, rate point 0). Version 2 defines the
 * u16 flags: bits 0-1 payload format, bits 2-3 reserved (0), bits 4-7 log2(lanes), bits 8-15 rate
 * point. Writers emit version 1 whenever the flags are 0.
 */
#ifndef FSPLIT_CONTAINER_H
#define FSPLIT_CONTAINER_H

#include "fsplit_interleaved2.h"
#include "fsplit_rans.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FSR_CONTAINER_MAGIC "FSCL"
#define FSR_CONTAINER_VERSION 1u       /* flags 0 */
#define FSR_CONTAINER_VERSION_FLAGS 2u /* flags defined */
#define FSR_CONTAINER_HEADER_SIZE 36u
#define FSR_CONTAINER_HASH_PREFIX 8u
/* Decoders refuse latents with more symbols than this (C * H * W). */
#define FSR_CONTAINER_MAX_SYMBOLS (UINT32_C(1) << 26)

/* Payload formats (flags bits 0-1). */
#define FSR_FORMAT_SINGLE 0u       /* one 64-bit state, CompressAI-compatible (fsplit_rans.h) */
#define FSR_FORMAT_INTERLEAVED 1u  /* N interleaved 32-bit states (fsplit_interleaved.h) */
#define FSR_FORMAT_INTERLEAVED2 2u /* version 2: 14-bit tables, 16-bit words (fsplit_interleaved2.h) */
#define FSR_MAX_RATE_POINT 255u

/* How a latent is (to be) coded: the fields the container's flags carry. */
typedef struct {
    uint32_t payload_format; /* FSR_FORMAT_* */
    uint32_t lanes;          /* 1 for the single stream; 8, 16 or 32 interleaved */
    uint32_t rate_point;     /* 0..255 */
} fsr_stream_format;

/* The u16 flags for a format (FSR_ERR_ARGUMENT naming nothing if a field cannot be stored). */
int fsr_container_flags(const fsr_stream_format *format, uint16_t *flags);

/*
 * Parse version + flags into *format. Returns FSR_OK or FSR_ERR_FORMAT; *problem (if not NULL)
 * receives a static sentence naming the offending field ("" on success).
 */
int fsr_container_parse_flags(uint16_t version, uint16_t flags, fsr_stream_format *format,
                              const char **problem);

typedef struct {
    uint32_t version;                              /* 1 or 2, as stored (written: derived from format) */
    fsr_stream_format format;                      /* parsed flags */
    uint8_t table_hash[FSR_CONTAINER_HASH_PREFIX]; /* first bytes of the tables' SHA-256 */
    uint32_t channels, height, width;
    uint32_t payload_len;
    uint32_t crc32; /* over header bytes [0, 32) then the payload */
} fsr_container_header;

/* Check magic, version, flags, sizes and CRC; on success *payload points into data. */
int fsr_container_parse(const uint8_t *data, size_t len, fsr_container_header *header,
                        const uint8_t **payload);

/* Fill header->version and crc32 from the other fields (format included) and the payload, and
 * write the 36 header bytes. */
int fsr_container_write_header(fsr_container_header *header, const uint8_t *payload,
                               uint8_t out[FSR_CONTAINER_HEADER_SIZE]);

/* Bytes needed by fsr_latent_encode for a latent of this many symbols (0 on overflow). */
size_t fsr_latent_encode_bound(size_t num_symbols);

/* Encode a C x H x W latent (C-order, index = channel) into a complete container, as a single
 * stream at rate point 0 (a version 1 container). */
int fsr_latent_encode(const fsr_tables *t, const uint8_t content_hash[32], const int32_t *symbols,
                      uint32_t channels, uint32_t height, uint32_t width, uint8_t *out, size_t out_capacity,
                      size_t *out_len);

/* Same, in the given payload format / lanes / rate point (NULL: as fsr_latent_encode). */
int fsr_latent_encode_format(const fsr_tables *t, const uint8_t content_hash[32], const int32_t *symbols,
                             uint32_t channels, uint32_t height, uint32_t width,
                             const fsr_stream_format *format, uint8_t *out, size_t out_capacity,
                             size_t *out_len);

/* Decode a container written with these tables, in whichever payload format its flags name;
 * *header receives its shape, format and rate point. */
int fsr_latent_decode(const fsr_tables *t, const uint8_t content_hash[32], const uint8_t *data, size_t len,
                      fsr_container_header *header, int32_t *symbols_out, size_t symbols_capacity);

/* The same, with the derived tables of the version 2 interleaved payload (FSR_FORMAT_INTERLEAVED2,
 * fsr_ilv2_tables_build); q may be NULL, and then that format gives FSR_ERR_ARGUMENT. */
int fsr_latent_encode_format2(const fsr_tables *t, const fsr_ilv2_tables *q, const uint8_t content_hash[32],
                              const int32_t *symbols, uint32_t channels, uint32_t height, uint32_t width,
                              const fsr_stream_format *format, uint8_t *out, size_t out_capacity,
                              size_t *out_len);
int fsr_latent_decode2(const fsr_tables *t, const fsr_ilv2_tables *q, const uint8_t content_hash[32],
                       const uint8_t *data, size_t len, fsr_container_header *h, int32_t *symbols_out,
                       size_t symbols_capacity);

/* fsr_latent_encode_format2 with the single stream coded by fsr_encode_planar_trusted when et is not NULL (the
 * encoder table fsr_etable_build made for t, which must be unchanged since: no per-call table check, same bytes). */
int fsr_latent_encode_trusted(const fsr_tables *t, const fsr_eentry *et, const fsr_ilv2_tables *q,
                              const uint8_t content_hash[32], const int32_t *symbols, uint32_t channels,
                              uint32_t height, uint32_t width, const fsr_stream_format *format, uint8_t *out,
                              size_t out_capacity, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* FSPLIT_CONTAINER_H */
