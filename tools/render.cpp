#include "render.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>

#include <fmt/chrono.h>
#include <fmt/format.h>

#include "shmq/error.hpp"

namespace shmq::cli {

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)) {}

void Table::add_row(std::vector<std::string> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::render() const {
  std::vector<std::size_t> width(columns_.size());
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    width[c] = columns_[c].title.size();
    for (const auto& row : rows_)
      width[c] = std::max(width[c], row[c].size());
  }
  std::string out;
  const auto emit = [&](const auto& cell_of) {
    std::string line;
    for (std::size_t c = 0; c < columns_.size(); ++c) {
      const std::string& cell = cell_of(c);
      if (c != 0) line += "  ";
      if (columns_[c].align == Align::right) {
        line += fmt::format("{:>{}}", cell, width[c]);
      } else {
        line += fmt::format("{:<{}}", cell, width[c]);
      }
    }
    while (!line.empty() && line.back() == ' ')
      line.pop_back();
    out += line;
    out += '\n';
  };
  emit([&](std::size_t c) -> const std::string& { return columns_[c].title; });
  for (const auto& row : rows_)
    emit([&](std::size_t c) -> const std::string& { return row[c]; });
  return out;
}

std::string human_bytes(double bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  std::size_t unit = 0;
  while (std::fabs(bytes) >= 1024.0 && unit + 1 < std::size(kUnits)) {
    bytes /= 1024.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} B", bytes);
  return fmt::format("{:.1f} {}", bytes, kUnits[unit]);
}

std::string human_count(double n) {
  static constexpr const char* kSuffixes[] = {"", "k", "M", "G", "T", "P"};
  std::size_t unit = 0;
  while (std::fabs(n) >= 1000.0 && unit + 1 < std::size(kSuffixes)) {
    n /= 1000.0;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f}", n);
  return fmt::format("{:.{}f}{}", n,
                     std::fabs(n) < 10.0    ? 2
                     : std::fabs(n) < 100.0 ? 1
                                            : 0,
                     kSuffixes[unit]);
}

std::string human_duration(double seconds) {
  if (!(seconds > 0.0)) return "0s";  // also NaN
  const auto s = static_cast<std::uint64_t>(seconds);
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  if (s < 86400) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
  return fmt::format("{}d{:02}h", s / 86400, (s % 86400) / 3600);
}

std::string local_time(std::uint64_t unix_ns) {
  const auto t = static_cast<std::time_t>(unix_ns / 1'000'000'000U);
  std::tm tm{};
  if (::localtime_r(&t, &tm) == nullptr) return "?";
  return fmt::format("{:%Y-%m-%d %H:%M:%S}", tm);
}

std::uint64_t now_unix_ns() {
  const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(since_epoch).count());
}

double seconds_since(std::uint64_t unix_ns) {
  const std::uint64_t now = now_unix_ns();
  return now > unix_ns ? static_cast<double>(now - unix_ns) / 1e9 : 0.0;
}

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

std::pair<std::size_t, std::size_t> process_counts(const SegmentReport& report) {
  const std::size_t alive = report.live_processes();
  return {alive, report.processes.size() - alive};
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

std::vector<std::pair<const char*, std::uint64_t>> counter_fields(const CounterSnapshot& c) {
  return {
      {"msgs_put", c.msgs_put},
      {"bytes_put", c.bytes_put},
      {"msgs_got", c.msgs_got},
      {"bytes_got", c.bytes_got},
      {"full_events", c.full_events},
      {"empty_events", c.empty_events},
      {"sleeps", c.sleeps},
      {"wakes", c.wakes},
      {"timeouts", c.timeouts},
      {"closes", c.closes},
      {"recovered_slots", c.recovered_slots},
      {"in_doubt", c.in_doubt},
  };
}

Json counters_json(const CounterSnapshot& c) {
  Json out = Json::object();
  for (const auto& [name, value] : counter_fields(c))
    out[name] = value;
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
