#include "coder.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

extern "C" {
#include "fsplit_hash.h"
}

namespace fsplit
{

static std::string hex(const uint8_t *d, size_t n)
{
    static const char *digits = "0123456789abcdef";
    std::string out;
    for (size_t i = 0; i < n; ++i) {
        out += digits[d[i] >> 4];
        out += digits[d[i] & 15];
    }
    return out;
}

std::string sha256_hex(const void *data, size_t len)
{
    fsr_sha256 s;
    uint8_t digest[32];
    fsr_sha256_init(&s);
    fsr_sha256_update(&s, static_cast<const uint8_t *>(data), len);
    fsr_sha256_final(&s, digest);
    return hex(digest, 32);
}

LatentCoder::LatentCoder(const std::string &tables_path, const std::string &payload, uint32_t lanes,
                         uint32_t rate_point)
    : payload_(payload)
{
    std::ifstream in(tables_path, std::ios::binary);
    if (!in)
        throw CoderError(tables_path + ": cannot open tables file");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    const auto *data = reinterpret_cast<const uint8_t *>(bytes.data());
    fsr_tables_file_info info;
    int rc = fsr_tables_file_info_read(data, bytes.size(), &info);
    if (rc != FSR_OK)
        throw CoderError(tables_path + ": " + fsr_strerror(rc));
    cdf_.assign(static_cast<size_t>(info.num_channels) * info.max_length, 0);
    cdf_length_.assign(info.num_channels, 0);
    offset_.assign(info.num_channels, 0);
    rc = fsr_tables_file_read(data, bytes.size(), cdf_.data(), cdf_.size(), cdf_length_.data(),
                              offset_.data(), info.num_channels, &view_, hash_);
    if (rc != FSR_OK)
        throw CoderError(tables_path + ": " + fsr_strerror(rc));
    if (payload == "single") {
        format_ = {FSR_FORMAT_SINGLE, 1, rate_point};
    } else if (payload == "interleaved" || payload == "interleaved2") {
        format_ = {payload == "interleaved" ? FSR_FORMAT_INTERLEAVED : FSR_FORMAT_INTERLEAVED2, lanes,
                   rate_point};
    } else {
        throw CoderError("unknown payload format '" + payload + "' (single, interleaved, interleaved2)");
    }
    uint16_t flags = 0;
    if (fsr_container_flags(&format_, &flags) != FSR_OK)
        throw CoderError("payload " + payload + " with " + std::to_string(lanes) + " lanes at rate point " +
                         std::to_string(rate_point) + " cannot be written");
    // The trusted encoder's table only up to FSR_ETABLE_MAX_ENTRIES (beyond, the checked encoder: same bytes).
    if (format_.payload_format == FSR_FORMAT_SINGLE && fsr_etable_entries(&view_) <= FSR_ETABLE_MAX_ENTRIES) {
        etable_.resize(fsr_etable_entries(&view_));
        rc = fsr_etable_build(&view_, etable_.data(), etable_.size());
        if (rc != FSR_OK)
            throw CoderError(tables_path + ": encoder table: " + fsr_strerror(rc));
    }
    if (format_.payload_format == FSR_FORMAT_INTERLEAVED2) {
        const size_t size = fsr_ilv2_tables_size(&view_);
        if (size == 0)
            throw CoderError(tables_path + ": these tables cannot be coded as payload interleaved2");
        ilv2_mem_.assign((size + 3) / 4, 0);
        rc = fsr_ilv2_tables_build(&view_, ilv2_mem_.data(), ilv2_mem_.size() * 4, &ilv2_);
        if (rc != FSR_OK)
            throw CoderError(tables_path + ": payload interleaved2: " + fsr_strerror(rc));
    }
}

void LatentCoder::encode(const std::vector<int32_t> &symbols, uint32_t channels, uint32_t height,
                         uint32_t width, std::vector<uint8_t> &out) const
{
    if (channels != view_.num_cdfs)
        throw CoderError("latent has " + std::to_string(channels) + " channels, tables have " +
                         std::to_string(view_.num_cdfs));
    size_t bound = fsr_latent_encode_bound(symbols.size());
    if (format_.payload_format != FSR_FORMAT_SINGLE) {
        const size_t ilv = format_.payload_format == FSR_FORMAT_INTERLEAVED2
                               ? fsr_ilv2_encode_bound(symbols.size(), format_.lanes)
                               : fsr_ilv_encode_bound(symbols.size(), format_.lanes);
        bound = ilv == 0 || bound == 0 ? 0 : std::max(bound, ilv + FSR_CONTAINER_HEADER_SIZE);
    }
    if (bound == 0)
        throw CoderError("latent too large to encode");
    if (scratch_.size() < bound)
        scratch_.resize(bound);
    size_t len = 0;
    int rc = fsr_latent_encode_trusted(&view_, etable_.empty() ? nullptr : etable_.data(),
                                       format_.payload_format == FSR_FORMAT_INTERLEAVED2 ? &ilv2_ : nullptr,
                                       hash_, symbols.data(), channels, height, width, &format_,
                                       scratch_.data(), bound, &len);
    if (rc != FSR_OK)
        throw CoderError(std::string("entropy coding failed: ") + fsr_strerror(rc));
    out.assign(scratch_.begin(), scratch_.begin() + static_cast<std::ptrdiff_t>(len));
}

std::string LatentCoder::content_hash_hex() const
{
    return hex(hash_, 32);
}

} // namespace fsplit
