// Python-style printing for shmq::Codec (include/shmq/codec.hpp).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "shmq/codec.hpp"

namespace shmq::detail {

namespace {

constexpr char kHex[] = "0123456789abcdef";

void hex_escape(unsigned char c, std::string& out) {
  out.append("\\x");
  out.push_back(kHex[c >> 4]);
  out.push_back(kHex[c & 0xF]);
}

// Python's float repr from the shortest round-trip digits: fixed for 1e-4 <= |v| < 1e16,
// else scientific with a sign and at least two exponent digits; always a '.' or an exponent.
template <class F>
void repr_floating(F v, std::string& out) {
  if (std::isnan(v)) {
    out.append("nan");
    return;
  }
  if (std::isinf(v)) {
    out.append(v < 0 ? "-inf" : "inf");
    return;
  }
  char sci[64];
  const auto r = std::to_chars(sci, sci + sizeof(sci), v, std::chars_format::scientific);
  const std::string s(sci, r.ptr);  // like "-1.2345e+17"
  const std::size_t e = s.find('e');
  const int exponent = std::atoi(s.c_str() + e + 1);
  std::string digits;  // the significant digits, without sign and point
  const bool negative = s[0] == '-';
  for (std::size_t i = negative ? 1 : 0; i < e; ++i) {
    if (s[i] != '.') digits.push_back(s[i]);
  }
  if (negative) out.push_back('-');
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;  // digits before the point
    if (point <= 0) {
      out.append("0.");
      out.append(static_cast<std::size_t>(-point), '0');
      out.append(digits);
    } else if (static_cast<std::size_t>(point) >= digits.size()) {
      out.append(digits);
      out.append(static_cast<std::size_t>(point) - digits.size(), '0');
      out.append(".0");
    } else {
      out.append(digits, 0, static_cast<std::size_t>(point));
      out.push_back('.');
      out.append(digits, static_cast<std::size_t>(point));
    }
    return;
  }
  out.push_back(digits[0]);
  if (digits.size() > 1) {
    out.push_back('.');
    out.append(digits, 1);
  }
  char exp[16];
  std::snprintf(exp, sizeof(exp), "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  out.append(exp);
}

}  // namespace

void repr_str(std::string_view s, std::string& out) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back(quote);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (ch == '\n') {
      out.append("\\n");
    } else if (ch == '\r') {
      out.append("\\r");
    } else if (ch == '\t') {
      out.append("\\t");
    } else if (c < 0x20 || c == 0x7f) {
      hex_escape(c, out);
    } else {
      out.push_back(ch);  // printable ASCII, and UTF-8 as it is (Python prints printable text)
    }
  }
  out.push_back(quote);
}

void repr_bytes(std::string_view s, std::string& out) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  out.push_back('b');
  out.push_back(quote);
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (ch == quote || ch == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (ch == '\n') {
      out.append("\\n");
    } else if (ch == '\r') {
      out.append("\\r");
    } else if (ch == '\t') {
      out.append("\\t");
    } else if (c < 0x20 || c >= 0x7f) {
      hex_escape(c, out);
    } else {
      out.push_back(ch);
    }
  }
  out.push_back(quote);
}

void repr_double(double v, std::string& out) {
  repr_floating(v, out);
}
void repr_float(float v, std::string& out) {
  repr_floating(v, out);
}

}  // namespace shmq::detail
