// json.hpp - a small JSON reader (manifest.json, inputs/index.json) and string escaping for event lines.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace fsplit
{

struct JsonError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

class Json
{
  public:
    enum class Type { Null, Bool, Number, String, Array, Object };

    Json() = default;
    static Json parse(const std::string &text);      // throws JsonError with the byte offset
    static Json parse_file(const std::string &path); // throws JsonError naming the file

    Type type() const
    {
        return type_;
    }
    bool is_null() const
    {
        return type_ == Type::Null;
    }
    bool has(const std::string &key) const;
    const Json &operator[](const std::string &key) const; // throws when missing or not an object
    const Json &operator[](size_t index) const;           // throws when out of range or not an array
    size_t size() const;                                  // array or object size
    double number() const;
    long long integer() const; // number that must be integral
    bool boolean() const;
    const std::string &str() const;
    std::vector<double> numbers() const;            // array of numbers
    const Json *find(const std::string &key) const; // nullptr when absent

  private:
    friend class JsonParser;
    Type type_ = Type::Null;
    bool bool_ = false;
    double number_ = 0.0;
    std::string string_;
    std::vector<Json> array_;
    std::map<std::string, Json> object_;
};

// A JSON string literal (with quotes) for `s`.
std::string json_quote(const std::string &s);

} // namespace fsplit
