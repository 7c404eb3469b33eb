#include "ppm.hpp"

#include <cctype>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace fsplit
{

RgbImage read_ppm(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw std::runtime_error(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string data = ss.str();
    size_t pos = 0;
    std::string fields[4];
    for (int f = 0; f < 4;) {
        while (pos < data.size() && std::isspace(static_cast<unsigned char>(data[pos])))
            ++pos;
        if (pos < data.size() && data[pos] == '#') {
            while (pos < data.size() && data[pos] != '\n')
                ++pos;
            continue;
        }
        size_t start = pos;
        while (pos < data.size() && !std::isspace(static_cast<unsigned char>(data[pos])))
            ++pos;
        if (start == pos)
            throw std::runtime_error(path + ": truncated PPM header");
        fields[f++] = data.substr(start, pos - start);
    }
    ++pos; // one whitespace byte ends the header
    if (fields[0] != "P6")
        throw std::runtime_error(path + ": not a binary PPM (expected P6)");
    RgbImage img;
    try {
        img.width = std::stoi(fields[1]);
        img.height = std::stoi(fields[2]);
        if (std::stoi(fields[3]) != 255)
            throw std::runtime_error("maxval");
    } catch (const std::exception &) {
        throw std::runtime_error(path + ": unsupported PPM header (need numeric size and maxval 255)");
    }
    if (img.width <= 0 || img.height <= 0 || img.width > 16384 || img.height > 16384)
        throw std::runtime_error(path + ": unsupported PPM size");
    size_t need = static_cast<size_t>(img.width) * img.height * 3;
    if (data.size() < pos || data.size() - pos < need)
        throw std::runtime_error(path + ": PPM pixel data truncated");
    img.pixels.assign(data.begin() + static_cast<long>(pos), data.begin() + static_cast<long>(pos + need));
    return img;
}

} // namespace fsplit
