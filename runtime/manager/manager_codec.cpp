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

// The code point of the UTF-8 sequence that starts `s`, and its length; 0 if `s` does not
// start with one (a stray continuation byte, a truncated or overlong sequence, a surrogate, or
// beyond U+10FFFF).
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  const std::size_t n = b0 >= 0xF0 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC0 ? 2 : 0;
  if (n == 0 || b0 > 0xF4 || s.size() < n) return 0;
  cp = b0 & (0x7F >> n);
  for (std::size_t i = 1; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  constexpr char32_t kLeast[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kLeast[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

// Whether Python's str.isprintable() holds for a code point from U+0080 on. It does not for
// the C1 controls, the separators other than ' ' (Zs, Zl, Zp), the format characters (Cf), the
// surrogates and private-use areas (Cs, Co) and the noncharacters U+FFFE/U+FFFF: these ranges
// are all of them as of Python 3.11 (Unicode 14), checked code point by code point against
// str.isprintable(). Unassigned code points (Cn), which move with Python's Unicode version,
// print as they are.
bool printable_above_ascii(char32_t cp) {
  struct Range {
    char32_t first, last;
  };
  static constexpr Range kEscaped[] = {
      {0x80, 0xA0},       {0xAD, 0xAD},       {0x600, 0x605},      {0x61C, 0x61C},
      {0x6DD, 0x6DD},     {0x70F, 0x70F},     {0x890, 0x891},      {0x8E2, 0x8E2},
      {0x1680, 0x1680},   {0x180E, 0x180E},   {0x2000, 0x200F},    {0x2028, 0x202F},
      {0x205F, 0x2064},   {0x2066, 0x206F},   {0x3000, 0x3000},    {0xD800, 0xF8FF},
      {0xFEFF, 0xFEFF},   {0xFFF9, 0xFFFB},   {0xFFFE, 0xFFFF},    {0x110BD, 0x110BD},
      {0x110CD, 0x110CD}, {0x13430, 0x1343F}, {0x1BCA0, 0x1BCA3},  {0x1D173, 0x1D17A},
      {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0x10FFFF},
  };
  for (const Range& r : kEscaped) {
    if (cp >= r.first && cp <= r.last) return false;
  }
  return true;
}

// Python's escape of a non-printable code point: \xNN, \uNNNN or \UNNNNNNNN.
void code_point_escape(char32_t cp, std::string& out) {
  const int digits = cp <= 0xFF ? 2 : cp <= 0xFFFF ? 4 : 8;
  out.append(digits == 2 ? "\\x" : digits == 4 ? "\\u" : "\\U");
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
    out.push_back(kHex[(cp >> shift) & 0xF]);
}

// Python's repr of a str (text: UTF-8) or a bytes object: quotes as Python picks them (single
// unless the content has ' and no "), \\, \n, \r, \t and the quote escaped, other controls as
// \xNN. Above ASCII, bytes are always \xNN; text prints what Python prints as it is and escapes
// the rest (printable_above_ascii); a byte that is not part of valid UTF-8 (a Python str cannot
// hold one) is shown as \xNN.
void repr_quoted(std::string_view s, bool text, std::string& out) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char quote = has_single && !has_double ? '"' : '\'';
  if (!text) out.push_back('b');
  out.push_back(quote);
  for (std::size_t i = 0; i < s.size();) {
    const char ch = s[i];
    const auto c = static_cast<unsigned char>(ch);
    std::size_t used = 1;
    char32_t cp = 0;
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
    } else if (c < 0x80) {
      out.push_back(ch);
    } else if (!text || (used = utf8_sequence(s.substr(i), cp)) == 0) {
      used = 1;
      hex_escape(c, out);
    } else if (printable_above_ascii(cp)) {
      out.append(s.substr(i, used));
    } else {
      code_point_escape(cp, out);
    }
    i += used;
  }
  out.push_back(quote);
}

}  // namespace

void repr_str(std::string_view s, std::string& out) {
  repr_quoted(s, true, out);
}

void repr_bytes(std::string_view s, std::string& out) {
  repr_quoted(s, false, out);
}

void repr_double(double v, std::string& out) {
  repr_floating(v, out);
}
void repr_float(float v, std::string& out) {
  repr_floating(v, out);
}

}  // namespace shmq::detail
