// Output helpers of the `shmq` tool: aligned text tables, human-readable figures, and the JSON
// shapes shared by several commands (documented in docs/cli.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "shmq/error.hpp"
#include "shmq/inspect.hpp"

namespace shmq::cli {

// Keys keep their insertion order, so documents read in the order docs/cli.md gives.
using Json = nlohmann::ordered_json;

// Columns separated by two spaces, each as wide as its widest cell; no trailing blanks.
class Table {
 public:
  enum class Align { left, right };
  struct Column {
    std::string title;
    Align align = Align::left;
  };

  explicit Table(std::vector<Column> columns);
  void add_row(std::vector<std::string> cells);  // missing cells are blank
  std::string render() const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<std::string>> rows_;
};

// "512 B", "4.0 KiB", "1.5 MiB".
std::string human_bytes(double bytes);
// "950", "12.3k", "4.56M" (for rates and counts).
std::string human_count(double n);
// "0s", "42s", "3m12s", "2h05m", "4d03h".
std::string human_duration(double seconds);
// "2024-05-01 12:34:56" in local time.
std::string local_time(std::uint64_t unix_ns);

// Wall-clock now, nanoseconds since the epoch; seconds since `unix_ns` (never negative).
std::uint64_t now_unix_ns();
double seconds_since(std::uint64_t unix_ns);

// Why a listed file could not be inspected, without the `segment "NAME": ` that names it.
std::string listed_error(const ListedSegment& item);

// What a listed file is: the segment's kind ("queue", "pipe", "manager") when it could be
// inspected, "journal" for a Manager's journal, else "foreign", "corrupt", "incompatible" or
// "incomplete" (see docs/cli.md).
std::string listed_kind(const ListedSegment& item);

// The registry entries' liveness: {alive, dead}.
std::pair<std::size_t, std::size_t> process_counts(const SegmentReport& report);

// Role names as a list: "producer,consumer" -> ["producer", "consumer"]; "-" -> [].
std::vector<std::string> role_list(const AttachedProcess& process);

// The counters, as ordered (name, value) pairs, and as a JSON object of them.
std::vector<std::pair<const char*, std::uint64_t>> counter_fields(const CounterSnapshot& c);
Json counters_json(const CounterSnapshot& c);

// Bytes as lowercase hex, two digits a byte, no separators.
std::string hex_string(std::span<const std::byte> bytes);
// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_utf8(std::span<const std::byte> bytes);
// One line: printable ASCII as is, backslash and everything else escaped (\n, \t, \xNN).
std::string escaped_text(std::span<const std::byte> bytes);

}  // namespace shmq::cli
