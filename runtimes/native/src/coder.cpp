#include "coder.hpp"

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

LatentCoder::LatentCoder(const std::string &tables_path)
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
}

void LatentCoder::encode(const std::vector<int32_t> &symbols, uint32_t channels, uint32_t height,
                         uint32_t width, std::vector<uint8_t> &out) const
{
    if (channels != view_.num_cdfs)
        throw CoderError("latent has " + std::to_string(channels) + " channels, tables have " +
                         std::to_string(view_.num_cdfs));
    size_t bound = fsr_latent_encode_bound(symbols.size());
    if (bound == 0)
        throw CoderError("latent too large to encode");
    out.resize(bound);
    size_t len = 0;
    int rc = fsr_latent_encode(&view_, hash_, symbols.data(), channels, height, width, out.data(), out.size(),
                               &len);
    if (rc != FSR_OK)
        throw CoderError(std::string("entropy coding failed: ") + fsr_strerror(rc));
    out.resize(len);
}

std::string LatentCoder::content_hash_hex() const
{
    return hex(hash_, 32);
}

} // namespace fsplit
