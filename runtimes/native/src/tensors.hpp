// tensors.hpp - manifest input/output specs and the conversions around the encoder, bit-identical to
// fsplit_mobile.runtime.preprocess (every float step is one float32 operation in the same order).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "json.hpp"
#include "ppm.hpp"

namespace fsplit
{

struct SpecError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Quant {
    bool enabled = false;
    float scale = 1.0f;
    int zero_point = 0;
    bool is_signed = true; // int8 (true) or uint8
};

struct InputSpec {
    int height = 0, width = 0;
    bool nhwc = false;
    bool divide = true;     // value_range [0, 1]: pixel / 255
    bool normalize = false; // normalization_in_graph == false: (x - mean) / std
    float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
    Quant quant;
    static InputSpec from_manifest(const Json &input);
    std::vector<int64_t> shape() const; // model file's input shape
};

struct OutputSpec {
    bool latent = false; // kind: latent (float y) or symbols (integers)
    bool nhwc = false;
    int channels = 0, height = 0, width = 0;
    std::vector<float> medians;
    Quant quant;
    static OutputSpec from_manifest(const Json &output, const Json &latent);
};

// RGB8 image -> model input; writes float32 values to `f32` or (quantized input) int8/uint8 to `q8`.
void convert_input(const InputSpec &spec, const RgbImage &img, std::vector<float> &f32,
                   std::vector<uint8_t> &q8);

enum class OutType { Float32, Int32, Int64, Int8, UInt8 };

// Model output (numel values of `type` at `data`) -> int32 symbols in C order (channel, row, column).
void convert_output(const OutputSpec &spec, const void *data, size_t numel, OutType type,
                    std::vector<int32_t> &symbols);

} // namespace fsplit
