// json.cpp - recursive-descent JSON reader (RFC 8259 subset: no surrogate pairs beyond the BMP check).
#include "json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace fsplit
{

class JsonParser
{
  public:
    explicit JsonParser(const std::string &t) : text_(t)
    {
    }

    Json document()
    {
        Json v = value(0);
        skip_ws();
        if (pos_ != text_.size())
            fail("trailing characters after the JSON value");
        return v;
    }

  private:
    const std::string &text_;
    size_t pos_ = 0;

    [[noreturn]] void fail(const std::string &what) const
    {
        throw JsonError(what + " at byte " + std::to_string(pos_));
    }
    void skip_ws()
    {
        while (pos_ < text_.size() &&
               (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' || text_[pos_] == '\t'))
            ++pos_;
    }
    bool consume(const char *word)
    {
        size_t n = std::char_traits<char>::length(word);
        if (text_.compare(pos_, n, word) == 0) {
            pos_ += n;
            return true;
        }
        return false;
    }
    Json value(int depth)
    {
        if (depth > 64)
            fail("nesting too deep");
        skip_ws();
        if (pos_ >= text_.size())
            fail("unexpected end of input");
        Json v;
        char c = text_[pos_];
        if (c == '{') {
            v.type_ = Json::Type::Object;
            ++pos_;
            skip_ws();
            if (pos_ < text_.size() && text_[pos_] == '}') {
                ++pos_;
                return v;
            }
            for (;;) {
                skip_ws();
                if (pos_ >= text_.size() || text_[pos_] != '"')
                    fail("expected an object key");
                std::string key = string_literal();
                skip_ws();
                if (pos_ >= text_.size() || text_[pos_] != ':')
                    fail("expected ':'");
                ++pos_;
                v.object_[key] = value(depth + 1);
                skip_ws();
                if (pos_ < text_.size() && text_[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (pos_ < text_.size() && text_[pos_] == '}') {
                    ++pos_;
                    return v;
                }
                fail("expected ',' or '}'");
            }
        }
        if (c == '[') {
            v.type_ = Json::Type::Array;
            ++pos_;
            skip_ws();
            if (pos_ < text_.size() && text_[pos_] == ']') {
                ++pos_;
                return v;
            }
            for (;;) {
                v.array_.push_back(value(depth + 1));
                skip_ws();
                if (pos_ < text_.size() && text_[pos_] == ',') {
                    ++pos_;
                    continue;
                }
                if (pos_ < text_.size() && text_[pos_] == ']') {
                    ++pos_;
                    return v;
                }
                fail("expected ',' or ']'");
            }
        }
        if (c == '"') {
            v.type_ = Json::Type::String;
            v.string_ = string_literal();
            return v;
        }
        if (consume("true")) {
            v.type_ = Json::Type::Bool;
            v.bool_ = true;
            return v;
        }
        if (consume("false")) {
            v.type_ = Json::Type::Bool;
            return v;
        }
        if (consume("null"))
            return v;
        if (c == '-' || (c >= '0' && c <= '9')) {
            const char *start = text_.c_str() + pos_;
            char *end = nullptr;
            double d = std::strtod(start, &end);
            if (end == start || !std::isfinite(d))
                fail("bad number");
            pos_ += static_cast<size_t>(end - start);
            v.type_ = Json::Type::Number;
            v.number_ = d;
            return v;
        }
        fail(std::string("unexpected character '") + c + "'");
    }
    static void put_utf8(std::string &out, unsigned cp)
    {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xC0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        } else {
            out += static_cast<char>(0xE0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (cp & 0x3F));
        }
    }
    std::string string_literal()
    {
        ++pos_; // opening quote
        std::string out;
        while (pos_ < text_.size()) {
            char c = text_[pos_++];
            if (c == '"')
                return out;
            if (static_cast<unsigned char>(c) < 0x20)
                fail("control character in string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (pos_ >= text_.size())
                break;
            char e = text_[pos_++];
            switch (e) {
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case '/': out += '/'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'u': {
                    if (pos_ + 4 > text_.size())
                        fail("truncated \\u escape");
                    unsigned cp =
                        static_cast<unsigned>(std::strtoul(text_.substr(pos_, 4).c_str(), nullptr, 16));
                    pos_ += 4;
                    put_utf8(out, cp);
                    break;
                }
                default: fail("bad escape");
            }
        }
        fail("unterminated string");
    }
};

Json Json::parse(const std::string &text)
{
    return JsonParser(text).document();
}

Json Json::parse_file(const std::string &path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw JsonError(path + ": cannot open");
    std::stringstream ss;
    ss << in.rdbuf();
    try {
        return parse(ss.str());
    } catch (const JsonError &e) {
        throw JsonError(path + ": " + e.what());
    }
}

bool Json::has(const std::string &key) const
{
    return type_ == Type::Object && object_.count(key) > 0;
}

const Json *Json::find(const std::string &key) const
{
    if (type_ != Type::Object)
        return nullptr;
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &it->second;
}

const Json &Json::operator[](const std::string &key) const
{
    if (type_ != Type::Object)
        throw JsonError("'" + key + "' looked up in a non-object");
    auto it = object_.find(key);
    if (it == object_.end())
        throw JsonError("missing key '" + key + "'");
    return it->second;
}

const Json &Json::operator[](size_t index) const
{
    if (type_ != Type::Array || index >= array_.size())
        throw JsonError("array index out of range");
    return array_[index];
}

size_t Json::size() const
{
    if (type_ == Type::Array)
        return array_.size();
    if (type_ == Type::Object)
        return object_.size();
    return 0;
}

double Json::number() const
{
    if (type_ != Type::Number)
        throw JsonError("expected a number");
    return number_;
}

long long Json::integer() const
{
    double d = number();
    if (d != std::floor(d) || std::fabs(d) > 9.0e15)
        throw JsonError("expected an integer");
    return static_cast<long long>(d);
}

bool Json::boolean() const
{
    if (type_ != Type::Bool)
        throw JsonError("expected true or false");
    return bool_;
}

const std::string &Json::str() const
{
    if (type_ != Type::String)
        throw JsonError("expected a string");
    return string_;
}

std::vector<double> Json::numbers() const
{
    if (type_ != Type::Array)
        throw JsonError("expected an array of numbers");
    std::vector<double> out;
    for (const auto &v : array_)
        out.push_back(v.number());
    return out;
}

std::string json_quote(const std::string &s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

} // namespace fsplit
