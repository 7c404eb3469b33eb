// events.hpp - the fsplit-bench-events/1 stream (see fsplit_mobile/bench/events.py): one JSON object per line,
// prefixed "@fsplit ", on stdout and appended to an events file.
#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace fsplit
{

struct DiskFullError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Builds one event: Event("sample").str("image", n).num("run", 3)...
class Event
{
  public:
    explicit Event(const std::string &kind);
    Event &str(const std::string &key, const std::string &value);
    Event &num(const std::string &key, double value);
    Event &integer(const std::string &key, long long value);
    Event &boolean(const std::string &key, bool value);
    Event &null(const std::string &key);
    Event &raw(const std::string &key, const std::string &json); // value already JSON
    std::string line() const;

  private:
    std::vector<std::pair<std::string, std::string>> fields_;
};

class EventSink
{
  public:
    explicit EventSink(const std::string &path); // empty path: stdout only
    ~EventSink();
    void emit(const Event &e); // throws DiskFullError when the events file cannot be written (ENOSPC)

  private:
    FILE *file_ = nullptr;
};

} // namespace fsplit
