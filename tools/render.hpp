// Output helpers of the `shmq` tool: what only the CLI prints (listings, dumps), over the output
// it shares with shmq-stress (output/). JSON shapes are documented in docs/cli.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "output/human.hpp"
#include "output/segment_text.hpp"
#include "output/table.hpp"
#include "shmq/error.hpp"
#include "shmq/inspect.hpp"

namespace shmq::cli {

// The output both tools share (output/): tables, figures, the inspect text, the counters' JSON.
using output::counters_json;
using output::human_bytes;
using output::human_count;
using output::human_duration;
using output::inspect_text;
using output::Json;
using output::local_time;
using output::now_unix_ns;
using output::process_counts;
using output::seconds_since;
using output::Table;

// Why a listed file could not be inspected, without the `segment "NAME": ` that names it.
std::string listed_error(const ListedSegment& item);

// What a listed file is: the segment's kind ("queue", "pipe", "manager") when it could be
// inspected, "journal" for a Manager's journal, else "foreign", "corrupt", "incompatible" or
// "incomplete" (see docs/cli.md).
std::string listed_kind(const ListedSegment& item);

// Role names as a list: "producer,consumer" -> ["producer", "consumer"]; "-" -> [].
std::vector<std::string> role_list(const AttachedProcess& process);

// Bytes as lowercase hex, two digits a byte, no separators.
std::string hex_string(std::span<const std::byte> bytes);
// Whether `bytes` is well-formed UTF-8 (no overlongs, no surrogates).
bool is_utf8(std::span<const std::byte> bytes);
// One line: printable ASCII as is, backslash and everything else escaped (\n, \t, \xNN).
std::string escaped_text(std::span<const std::byte> bytes);

}  // namespace shmq::cli
