#include "render.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "shmq/error.hpp"

namespace shmq::cli {

std::string listed_error(const ListedSegment& item) {
  std::string text = item.error;
  const std::string prefix = fmt::format("segment \"{}\": ", item.name);
  if (text.starts_with(prefix)) text.erase(0, prefix.size());
  return text;
}

std::string listed_kind(const ListedSegment& item) {
  if (item.report) return item.report->kind;
  if (!item.journal_of.empty()) return "journal";
  if (item.code == make_error_code(Errc::not_a_segment)) return "foreign";
  if (item.code == make_error_code(Errc::version_mismatch)) return "incompatible";
  if (item.code == make_error_code(Errc::not_ready)) return "incomplete";
  return "corrupt";
}

std::vector<std::string> role_list(const AttachedProcess& process) {
  std::vector<std::string> out;
  const std::string names = process.role_names();
  if (names == "-") return out;
  std::size_t start = 0;
  while (start <= names.size()) {
    const std::size_t comma = std::min(names.find(',', start), names.size());
    if (comma > start) out.push_back(names.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

std::string hex_string(std::span<const std::byte> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const std::byte b : bytes) {
    const auto v = std::to_integer<unsigned>(b);
    out += kDigits[v >> 4U];
    out += kDigits[v & 0xFU];
  }
  return out;
}

bool is_utf8(std::span<const std::byte> bytes) {
  std::size_t i = 0;
  const auto at = [&](std::size_t k) { return std::to_integer<unsigned>(bytes[k]); };
  while (i < bytes.size()) {
    const unsigned lead = at(i);
    std::size_t extra = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (lead < 0x80U) {
      ++i;
      continue;
    }
    if ((lead & 0xE0U) == 0xC0U) {
      extra = 1;
      min = 0x80U;
      cp = lead & 0x1FU;
    } else if ((lead & 0xF0U) == 0xE0U) {
      extra = 2;
      min = 0x800U;
      cp = lead & 0x0FU;
    } else if ((lead & 0xF8U) == 0xF0U) {
      extra = 3;
      min = 0x10000U;
      cp = lead & 0x07U;
    } else {
      return false;
    }
    if (bytes.size() - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      const unsigned next = at(i + k);
      if ((next & 0xC0U) != 0x80U) return false;
      cp = (cp << 6U) | (next & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) return false;
    i += extra + 1;
  }
  return true;
}

std::string escaped_text(std::span<const std::byte> bytes) {
  std::string out;
  out.reserve(bytes.size());
  for (const std::byte b : bytes) {
    const auto c = std::to_integer<unsigned char>(b);
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c >= 0x20 && c < 0x7F) {
          out += static_cast<char>(c);
        } else {
          out += fmt::format("\\x{:02x}", c);
        }
    }
  }
  return out;
}

}  // namespace shmq::cli
