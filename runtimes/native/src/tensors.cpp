#include "tensors.hpp"

#include <algorithm>
#include <cmath>

namespace fsplit
{

static Quant read_quant(const Json *q, const char *what)
{
    Quant out;
    if (q == nullptr || q->is_null())
        return out;
    const std::string &dtype = (*q)["dtype"].str();
    if (dtype != "int8" && dtype != "uint8")
        throw SpecError(std::string(what) + " quantization dtype must be int8 or uint8, got " + dtype);
    out.enabled = true;
    out.scale = static_cast<float>((*q)["scale"].number());
    out.zero_point = static_cast<int>((*q)["zero_point"].integer());
    out.is_signed = dtype == "int8";
    return out;
}

InputSpec InputSpec::from_manifest(const Json &input)
{
    InputSpec s;
    const Json &shape = input["shape"];
    const std::string &layout = input["layout"].str();
    if (shape.size() != 4 || shape[0].integer() != 1)
        throw SpecError("input shape must be [1, ., ., .]");
    long long c;
    if (layout == "NCHW") {
        c = shape[1].integer();
        s.height = static_cast<int>(shape[2].integer());
        s.width = static_cast<int>(shape[3].integer());
    } else if (layout == "NHWC") {
        s.nhwc = true;
        s.height = static_cast<int>(shape[1].integer());
        s.width = static_cast<int>(shape[2].integer());
        c = shape[3].integer();
    } else {
        throw SpecError("input layout must be NCHW or NHWC, got " + layout);
    }
    if (c != 3)
        throw SpecError("input must have 3 channels");
    if (const Json *color = input.find("color"); color && color->str() != "RGB")
        throw SpecError("input color must be RGB");
    if (const Json *vr = input.find("value_range")) {
        std::vector<double> r = vr->numbers();
        if (r.size() == 2 && r[0] == 0.0 && r[1] == 1.0)
            s.divide = true;
        else if (r.size() == 2 && r[0] == 0.0 && r[1] == 255.0)
            s.divide = false;
        else
            throw SpecError("input value_range must be [0, 1] or [0, 255]");
    }
    const Json *in_graph = input.find("normalization_in_graph");
    s.normalize = in_graph != nullptr && !in_graph->is_null() && !in_graph->boolean();
    if (s.normalize) {
        std::vector<double> m = input["mean"].numbers(), d = input["std"].numbers();
        if (m.size() != 3 || d.size() != 3)
            throw SpecError("input mean/std must be 3 values each");
        for (int i = 0; i < 3; ++i) {
            s.mean[i] = static_cast<float>(m[i]);
            s.std[i] = static_cast<float>(d[i]);
            if (s.std[i] == 0.0f)
                throw SpecError("input std must be non-zero");
        }
    }
    s.quant = read_quant(input.find("quantization"), "input");
    return s;
}

std::vector<int64_t> InputSpec::shape() const
{
    if (nhwc)
        return {1, height, width, 3};
    return {1, 3, height, width};
}

OutputSpec OutputSpec::from_manifest(const Json &output, const Json &latent)
{
    OutputSpec s;
    const std::string &kind = output["kind"].str();
    if (kind != "symbols" && kind != "latent")
        throw SpecError("output kind must be symbols or latent, got " + kind);
    s.latent = kind == "latent";
    if (const Json *layout = output.find("layout")) {
        if (layout->str() == "NHWC")
            s.nhwc = true;
        else if (layout->str() != "NCHW")
            throw SpecError("output layout must be NCHW or NHWC");
    }
    s.channels = static_cast<int>(latent["channels"].integer());
    s.height = static_cast<int>(latent["height"].integer());
    s.width = static_cast<int>(latent["width"].integer());
    if (s.channels <= 0 || s.height <= 0 || s.width <= 0)
        throw SpecError("latent sizes must be positive");
    if (s.latent) {
        for (double m : latent["medians"].numbers())
            s.medians.push_back(static_cast<float>(m));
        if (static_cast<int>(s.medians.size()) != s.channels)
            throw SpecError("latent output needs one median per channel");
    }
    s.quant = read_quant(output.find("quantization"), "output");
    return s;
}

void convert_input(const InputSpec &spec, const RgbImage &img, std::vector<float> &f32,
                   std::vector<uint8_t> &q8)
{
    if (img.width != spec.width || img.height != spec.height)
        throw SpecError("image is " + std::to_string(img.width) + "x" + std::to_string(img.height) +
                        ", model takes " + std::to_string(spec.width) + "x" + std::to_string(spec.height));
    const size_t plane = static_cast<size_t>(spec.height) * spec.width;
    f32.resize(plane * 3);
    for (size_t p = 0; p < plane; ++p) {
        for (int c = 0; c < 3; ++c) {
            float v = static_cast<float>(img.pixels[p * 3 + c]);
            if (spec.divide)
                v = v / 255.0f;
            if (spec.normalize) {
                v = v - spec.mean[c];
                v = v / spec.std[c];
            }
            f32[spec.nhwc ? p * 3 + c : c * plane + p] = v;
        }
    }
    if (!spec.quant.enabled)
        return;
    q8.resize(f32.size());
    const float lo = spec.quant.is_signed ? -128.0f : 0.0f, hi = spec.quant.is_signed ? 127.0f : 255.0f;
    const float zp = static_cast<float>(spec.quant.zero_point);
    for (size_t i = 0; i < f32.size(); ++i) {
        float q = std::nearbyint(f32[i] / spec.quant.scale) + zp;
        q = std::min(std::max(q, lo), hi);
        if (spec.quant.is_signed)
            q8[i] = static_cast<uint8_t>(static_cast<int8_t>(q));
        else
            q8[i] = static_cast<uint8_t>(q);
    }
}

// Symbols output (integers): symbols[ch * plane + p] = the element at src(ch, p), converted to int32. One loop per
// element type and layout, so the type is not tested per element (this conversion is in the timed entropy stage).
template <typename T>
static void copy_symbols(const T *data, size_t c, size_t plane, bool nhwc, int32_t *symbols)
{
    if (!nhwc) {
        for (size_t i = 0; i < c * plane; ++i)
            symbols[i] = static_cast<int32_t>(data[i]);
        return;
    }
    for (size_t p = 0; p < plane; ++p)
        for (size_t ch = 0; ch < c; ++ch)
            symbols[ch * plane + p] = static_cast<int32_t>(data[p * c + ch]);
}

// Latent output (float y, or its int8/uint8 quantized form): round(dequantized y - median of the channel).
template <typename T>
static void round_latent(const OutputSpec &spec, const T *data, size_t c, size_t plane, int32_t *symbols)
{
    const bool deq = spec.quant.enabled;
    const float zp = static_cast<float>(spec.quant.zero_point), scale = spec.quant.scale;
    for (size_t ch = 0; ch < c; ++ch) {
        const float median = spec.medians[ch];
        for (size_t p = 0; p < plane; ++p) {
            float y = static_cast<float>(data[spec.nhwc ? p * c + ch : ch * plane + p]);
            if (deq)
                y = (y - zp) * scale;
            y = y - median;
            symbols[ch * plane + p] = static_cast<int32_t>(std::nearbyint(y));
        }
    }
}

void convert_output(const OutputSpec &spec, const void *data, size_t numel, OutType type,
                    std::vector<int32_t> &symbols)
{
    const size_t c = spec.channels, h = spec.height, w = spec.width, plane = h * w;
    if (numel != c * plane)
        throw SpecError("model output has " + std::to_string(numel) + " values, latent is " +
                        std::to_string(c) + "x" + std::to_string(h) + "x" + std::to_string(w));
    symbols.resize(numel);
    int32_t *out = symbols.data();
    if (!spec.latent) {
        switch (type) {
            case OutType::Int32:
                copy_symbols(static_cast<const int32_t *>(data), c, plane, spec.nhwc, out);
                return;
            case OutType::Int64:
                copy_symbols(static_cast<const int64_t *>(data), c, plane, spec.nhwc, out);
                return;
            case OutType::Int8:
                copy_symbols(static_cast<const int8_t *>(data), c, plane, spec.nhwc, out);
                return;
            case OutType::UInt8:
                copy_symbols(static_cast<const uint8_t *>(data), c, plane, spec.nhwc, out);
                return;
            case OutType::Float32: break;
        }
        throw SpecError("symbols output must be an integer tensor");
    }
    switch (type) {
        case OutType::Float32: round_latent(spec, static_cast<const float *>(data), c, plane, out); return;
        case OutType::Int8: round_latent(spec, static_cast<const int8_t *>(data), c, plane, out); return;
        case OutType::UInt8: round_latent(spec, static_cast<const uint8_t *>(data), c, plane, out); return;
        case OutType::Int32: round_latent(spec, static_cast<const int32_t *>(data), c, plane, out); return;
        case OutType::Int64: round_latent(spec, static_cast<const int64_t *>(data), c, plane, out); return;
    }
}

} // namespace fsplit
