// ppm.hpp - binary PPM (P6, maxval 255) reader: the host hands already-resized RGB8 images in this format.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace fsplit
{

struct RgbImage {
    int width = 0, height = 0;
    std::vector<uint8_t> pixels; // height * width * 3, row-major RGB
};

RgbImage read_ppm(const std::string &path); // throws std::runtime_error naming the file and the problem

} // namespace fsplit
