#include "events.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>

#include "json.hpp"

namespace fsplit
{

Event::Event(const std::string &kind)
{
    fields_.emplace_back("event", json_quote(kind));
}

Event &Event::str(const std::string &key, const std::string &value)
{
    fields_.emplace_back(key, json_quote(value));
    return *this;
}

Event &Event::num(const std::string &key, double value)
{
    char buf[64];
    if (!std::isfinite(value))
        return null(key);
    std::snprintf(buf, sizeof buf, "%.17g", value);
    fields_.emplace_back(key, buf);
    return *this;
}

Event &Event::integer(const std::string &key, long long value)
{
    fields_.emplace_back(key, std::to_string(value));
    return *this;
}

Event &Event::boolean(const std::string &key, bool value)
{
    fields_.emplace_back(key, value ? "true" : "false");
    return *this;
}

Event &Event::null(const std::string &key)
{
    fields_.emplace_back(key, "null");
    return *this;
}

Event &Event::raw(const std::string &key, const std::string &json)
{
    fields_.emplace_back(key, json);
    return *this;
}

std::string Event::line() const
{
    std::string out = "@fsplit {";
    for (size_t i = 0; i < fields_.size(); ++i) {
        if (i)
            out += ",";
        out += json_quote(fields_[i].first) + ":" + fields_[i].second;
    }
    return out + "}";
}

EventSink::EventSink(const std::string &path)
{
    if (path.empty())
        return;
    file_ = std::fopen(path.c_str(), "a");
    if (file_ == nullptr) {
        if (errno == ENOSPC)
            throw DiskFullError(path + ": " + std::strerror(errno));
        throw std::runtime_error(path + ": cannot open events file: " + std::strerror(errno));
    }
}

EventSink::~EventSink()
{
    if (file_ != nullptr)
        std::fclose(file_);
}

void EventSink::emit(const Event &e)
{
    const std::string line = e.line();
    std::fputs(line.c_str(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (file_ == nullptr)
        return;
    errno = 0;
    if (std::fputs(line.c_str(), file_) < 0 || std::fputc('\n', file_) == EOF || std::fflush(file_) != 0) {
        int err = errno;
        if (err == ENOSPC)
            throw DiskFullError(std::string("events file: ") + std::strerror(err));
        throw std::runtime_error(std::string("events file write failed: ") + std::strerror(err));
    }
}

} // namespace fsplit
