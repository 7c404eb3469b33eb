// coder.hpp - the codec tables file and latent encoding through the project's C coder (runtimes/c).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
#include "fsplit_container.h"
#include "fsplit_interleaved2.h"
#include "fsplit_tables.h"
}

namespace fsplit
{

struct CoderError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class LatentCoder
{
  public:
    // Reads and verifies the .fsct file; streams are written in `payload` ("single", "interleaved" or
    // "interleaved2": the manifest's payload block, docs/artifact.md) with `lanes` interleaved states; the header
    // names `rate_point` (0..255: the manifest's rate_point.index when the bundle holds one rate point's view).
    explicit LatentCoder(const std::string &tables_path, const std::string &payload = "single",
                         uint32_t lanes = 1, uint32_t rate_point = 0);
    // Encode C x H x W int32 symbols (C order) into a complete container; `out` is resized to the stream.
    void encode(const std::vector<int32_t> &symbols, uint32_t channels, uint32_t height, uint32_t width,
                std::vector<uint8_t> &out) const;
    uint32_t num_channels() const
    {
        return view_.num_cdfs;
    }
    std::string content_hash_hex() const;
    const std::string &payload() const
    {
        return payload_;
    }

  private:
    std::vector<int32_t> cdf_, cdf_length_, offset_;
    std::vector<uint32_t> ilv2_mem_; // derived tables of payload v2 (fsr_ilv2_tables_build)
    fsr_ilv2_tables ilv2_{};
    std::vector<fsr_eentry> etable_; // the single stream's encoder table (fsr_etable_build): no division
    fsr_stream_format format_{FSR_FORMAT_SINGLE, 1, 0};
    std::string payload_;
    // Worst-case output buffer, kept between calls: sizing `out` to the bound on every call would zero-fill
    // tens of kB inside the timed entropy stage.
    mutable std::vector<uint8_t> scratch_;
    fsr_tables view_{};
    uint8_t hash_[32] = {};
};

std::string sha256_hex(const void *data, size_t len);

} // namespace fsplit
