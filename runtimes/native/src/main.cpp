// fsplit-bench-native: the native device runner of fsplit-bench (ExecuTorch runtime + the project's C coder).
//
//   fsplit-bench-native --bundle DIR [--runs N] [--warmup M] [--threads T] [--events-file F] [--streams-dir D]
//
// DIR holds artifact/ (manifest.json, encoder .pte, tables .fsct) and inputs/ (index.json + PPM images already
// resized to the model input by the host). Prints the fsplit-bench-events/1 stream, the same as the Python
// device agent (fsplit_mobile/bench/device/agent.py). Exit codes: 0 done, 2 error, 3 device storage full.
#include <sched.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <executorch/extension/module/module.h>
#include <executorch/extension/tensor/tensor.h>

#include "coder.hpp"
#include "events.hpp"
#include "json.hpp"
#include "ppm.hpp"
#include "tensors.hpp"

#ifndef FSPLIT_EXECUTORCH_VERSION
#define FSPLIT_EXECUTORCH_VERSION "unknown"
#endif

// The wheel ships libexecutorch_threadpool.so but not threadpool.h; these two functions are all we call.
namespace executorch::extension::threadpool
{
class ThreadPool
{
  public:
    bool _unsafe_reset_threadpool(uint32_t num_threads);
};
ThreadPool *get_threadpool();
} // namespace executorch::extension::threadpool

namespace
{

constexpr int kExitError = 2;
constexpr int kExitDiskFull = 3;

struct Args {
    std::string bundle, events_file, streams_dir;
    int runs = 20, warmup = 5, threads = 0;
};

struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct KindError : std::runtime_error {
    KindError(const std::string &kind, const std::string &message) : std::runtime_error(message), kind(kind)
    {
    }
    std::string kind;
};

int parse_int(const char *s, const char *what)
{
    char *end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end == s || *end != '\0' || v < 0 || v > 1000000)
        throw UsageError(std::string("bad value for ") + what);
    return static_cast<int>(v);
}

Args parse_args(int argc, char **argv)
{
    Args a;
    for (int i = 1; i < argc; ++i) {
        std::string k = argv[i];
        if (k == "-h" || k == "--help")
            throw UsageError("usage");
        if (i + 1 >= argc)
            throw UsageError("missing value after " + k);
        const char *v = argv[++i];
        if (k == "--bundle")
            a.bundle = v;
        else if (k == "--runs")
            a.runs = parse_int(v, "--runs");
        else if (k == "--warmup")
            a.warmup = parse_int(v, "--warmup");
        else if (k == "--threads")
            a.threads = parse_int(v, "--threads");
        else if (k == "--events-file")
            a.events_file = v;
        else if (k == "--streams-dir")
            a.streams_dir = v;
        else
            throw UsageError("unknown option " + k);
    }
    if (a.bundle.empty())
        throw UsageError("--bundle is required");
    if (a.runs < 1)
        throw UsageError("--runs must be >= 1");
    return a;
}

double ms_between(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string affinity_json()
{
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return "null";
    std::string out = "[";
    bool first = true;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (CPU_ISSET(c, &set)) {
            out += (first ? "" : ",") + std::to_string(c);
            first = false;
        }
    }
    return out + "]";
}

fsplit::OutType out_type(executorch::aten::ScalarType t)
{
    using executorch::aten::ScalarType;
    switch (t) {
        case ScalarType::Float: return fsplit::OutType::Float32;
        case ScalarType::Int: return fsplit::OutType::Int32;
        case ScalarType::Long: return fsplit::OutType::Int64;
        case ScalarType::Char: return fsplit::OutType::Int8;
        case ScalarType::Byte: return fsplit::OutType::UInt8;
        default:
            throw KindError("artifact", "unsupported encoder output dtype (code " +
                                            std::to_string(static_cast<int>(t)) + ")");
    }
}

void write_stream(const std::string &dir, const std::string &name, const std::vector<uint8_t> &bytes)
{
    mkdir(dir.c_str(), 0755); // EEXIST is fine; a real failure shows up at fopen
    const std::string path = dir + "/" + name + ".fscl";
    FILE *f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) {
        if (errno == ENOSPC)
            throw fsplit::DiskFullError(path + ": " + std::strerror(errno));
        throw std::runtime_error(path + ": cannot write stream: " + std::strerror(errno));
    }
    const size_t n = std::fwrite(bytes.data(), 1, bytes.size(), f);
    const int err = (n != bytes.size() || std::fflush(f) != 0) ? errno : 0;
    std::fclose(f);
    if (err == ENOSPC)
        throw fsplit::DiskFullError(path + ": " + std::strerror(err));
    if (err != 0)
        throw std::runtime_error(path + ": cannot write stream: " + std::strerror(err));
}

int run(const Args &args, fsplit::EventSink &sink)
{
    using clock = std::chrono::steady_clock;
    using executorch::extension::Module;
    const std::string art = args.bundle + "/artifact";
    fsplit::Json manifest;
    try {
        manifest = fsplit::Json::parse_file(art + "/manifest.json");
    } catch (const fsplit::JsonError &e) {
        throw KindError("artifact", e.what());
    }
    fsplit::InputSpec in_spec;
    fsplit::OutputSpec out_spec;
    std::string encoder_file, tables_file, payload = "single";
    uint32_t lanes = 1, rate_point = 0;
    try {
        if (manifest["target"].str() != "executorch")
            throw KindError("artifact",
                            "the native runner runs executorch artifacts, not " + manifest["target"].str());
        encoder_file = manifest["files"]["encoder"].str();
        tables_file = manifest["files"]["tables"].str();
        in_spec = fsplit::InputSpec::from_manifest(manifest["input"]);
        out_spec = fsplit::OutputSpec::from_manifest(manifest["output"], manifest["latent"]);
        if (manifest.has("payload")) { // the stream payload to write (docs/artifact.md "payload")
            const fsplit::Json &block = manifest["payload"];
            payload = block["format"].str();
            const long long n = block.has("lanes") ? block["lanes"].integer() : 1;
            if (n < 1 || n > 32)
                throw KindError("artifact",
                                "manifest.json: payload.lanes " + std::to_string(n) + " out of range");
            lanes = static_cast<uint32_t>(n);
        }
        if (manifest.has("rate_point")) { // one rate point's view (fsplit-bench run --rate-point)
            const long long n = manifest["rate_point"]["index"].integer();
            if (n < 0 || n > 255)
                throw KindError("artifact", "manifest.json: rate_point.index " + std::to_string(n) +
                                                " out of range 0..255");
            rate_point = static_cast<uint32_t>(n);
        }
    } catch (const fsplit::JsonError &e) {
        throw KindError("artifact", std::string("manifest.json: ") + e.what());
    } catch (const fsplit::SpecError &e) {
        throw KindError("artifact", std::string("manifest.json: ") + e.what());
    }

    if (args.threads > 0) {
        auto *pool = executorch::extension::threadpool::get_threadpool();
        if (pool != nullptr)
            pool->_unsafe_reset_threadpool(static_cast<uint32_t>(args.threads));
    }
    const auto t0 = clock::now();
    Module module(art + "/" + encoder_file, Module::LoadMode::Mmap);
    if (module.load_method("forward") != executorch::runtime::Error::Ok)
        throw KindError("runtime", "ExecuTorch cannot load method 'forward' of " + encoder_file +
                                       " (corrupt file, or an operator/backend missing from this runtime)");
    const auto t1 = clock::now();
    std::unique_ptr<fsplit::LatentCoder> coder;
    try {
        coder = std::make_unique<fsplit::LatentCoder>(art + "/" + tables_file, payload, lanes, rate_point);
    } catch (const fsplit::CoderError &e) {
        throw KindError("artifact", std::string("tables file ") + e.what());
    }
    const auto t2 = clock::now();

    struct utsname un {
    };
    uname(&un);
    sink.emit(fsplit::Event("hello")
                  .str("schema", "fsplit-bench-events/1")
                  .str("runner", "native")
                  .raw("runtime", "{\"name\":\"executorch\",\"version\":" +
                                      fsplit::json_quote(FSPLIT_EXECUTORCH_VERSION) + "}")
                  .raw("threads", args.threads > 0 ? std::to_string(args.threads) : "null")
                  .raw("affinity", affinity_json())
                  .integer("pid", static_cast<long long>(getpid()))
                  .null("python")
                  .str("machine", un.machine));
    sink.emit(fsplit::Event("load")
                  .num("model_load_ms", ms_between(t0, t1))
                  .num("tables_load_ms", ms_between(t1, t2)));

    std::vector<std::pair<std::string, fsplit::RgbImage>> images;
    try {
        fsplit::Json index = fsplit::Json::parse_file(args.bundle + "/inputs/index.json");
        for (size_t i = 0; i < index.size(); ++i)
            images.emplace_back(index[i]["name"].str(),
                                fsplit::read_ppm(args.bundle + "/inputs/" + index[i]["file"].str()));
    } catch (const std::exception &e) {
        throw KindError("input", std::string("input images: ") + e.what());
    }
    if (images.empty())
        throw KindError("input", "no input images in the bundle");

    std::vector<float> f32;
    std::vector<uint8_t> q8;
    std::vector<int32_t> symbols;
    std::vector<uint8_t> stream;
    std::vector<executorch::aten::SizesType> sizes;
    for (int64_t s : in_spec.shape())
        sizes.push_back(static_cast<executorch::aten::SizesType>(s));
    const auto in_type = !in_spec.quant.enabled    ? executorch::aten::ScalarType::Float
                         : in_spec.quant.is_signed ? executorch::aten::ScalarType::Char
                                                   : executorch::aten::ScalarType::Byte;

    // One pass: preprocess | encoder | entropy (output -> symbols, C coder). Returns the four time points.
    auto one_pass = [&](const fsplit::RgbImage &img, clock::time_point tp[4]) {
        tp[0] = clock::now();
        try {
            fsplit::convert_input(in_spec, img, f32, q8);
        } catch (const fsplit::SpecError &e) {
            throw KindError("input", e.what());
        }
        void *data = in_spec.quant.enabled ? static_cast<void *>(q8.data()) : static_cast<void *>(f32.data());
        auto tensor = executorch::extension::from_blob(data, sizes, in_type);
        tp[1] = clock::now();
        auto result = module.forward(executorch::runtime::EValue(*tensor));
        if (!result.ok() || result->empty() || !result->at(0).isTensor())
            throw KindError("runtime", "ExecuTorch forward failed (error " +
                                           std::to_string(static_cast<int>(result.error())) + ")");
        const auto &out = result->at(0).toTensor();
        tp[2] = clock::now();
        try {
            fsplit::convert_output(out_spec, out.const_data_ptr(), static_cast<size_t>(out.numel()),
                                   out_type(out.scalar_type()), symbols);
            coder->encode(symbols, out_spec.channels, out_spec.height, out_spec.width, stream);
        } catch (const fsplit::SpecError &e) {
            throw KindError("artifact", e.what());
        } catch (const fsplit::CoderError &e) {
            throw KindError("coder", e.what());
        }
        tp[3] = clock::now();
    };

    clock::time_point tp[4];
    for (int i = 0; i < args.warmup; ++i)
        one_pass(images[0].second, tp);
    sink.emit(fsplit::Event("warmup").integer("runs", args.warmup));

    long long samples = 0;
    const double pixels = static_cast<double>(in_spec.height) * in_spec.width;
    for (const auto &[name, img] : images) {
        std::vector<uint8_t> first;
        bool deterministic = true;
        for (int r = 0; r < args.runs; ++r) {
            one_pass(img, tp);
            if (r == 0)
                first = stream;
            else if (stream != first)
                deterministic = false;
            sink.emit(fsplit::Event("sample")
                          .str("image", name)
                          .integer("run", r)
                          .num("preprocess_ms", ms_between(tp[0], tp[1]))
                          .num("encoder_ms", ms_between(tp[1], tp[2]))
                          .num("entropy_ms", ms_between(tp[2], tp[3]))
                          .num("total_ms", ms_between(tp[0], tp[3])));
            ++samples;
        }
        if (!args.streams_dir.empty())
            write_stream(args.streams_dir, name, first);
        sink.emit(
            fsplit::Event("image")
                .str("image", name)
                .integer("bytes", static_cast<long long>(first.size()))
                .num("bpp", 8.0 * static_cast<double>(first.size()) / pixels)
                .str("symbols_sha256", fsplit::sha256_hex(symbols.data(), symbols.size() * sizeof(int32_t)))
                .str("stream_sha256", fsplit::sha256_hex(first.data(), first.size()))
                .boolean("deterministic", deterministic));
    }
    struct rusage ru {
    };
    getrusage(RUSAGE_SELF, &ru);
    sink.emit(fsplit::Event("end").integer("peak_rss_kb", ru.ru_maxrss).integer("samples", samples));
    return 0;
}

void report(const std::string &kind, const std::string &message)
{
    std::printf("%s\n", fsplit::Event("error").str("message", message).str("kind", kind).line().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "fsplit-bench-native: %s\n", message.c_str());
}

} // namespace

int main(int argc, char **argv)
{
    Args args;
    try {
        args = parse_args(argc, argv);
    } catch (const UsageError &e) {
        std::fprintf(stderr,
                     "%s\nusage: fsplit-bench-native --bundle DIR [--runs N] [--warmup M] [--threads T] "
                     "[--events-file F] [--streams-dir D]\n",
                     e.what());
        return kExitError;
    }
    try {
        fsplit::EventSink sink(args.events_file);
        return run(args, sink);
    } catch (const fsplit::DiskFullError &e) {
        report("disk_full", std::string("device storage full: ") + e.what());
        return kExitDiskFull;
    } catch (const KindError &e) {
        report(e.kind, e.what());
        return kExitError;
    } catch (const std::exception &e) {
        report("error", e.what());
        return kExitError;
    }
}
