// What `shmq inspect` prints about a segment, as text and as the counters' JSON; `shmq-stress`
// prints the same text when its watchdog dumps the queue's state.
#pragma once

#include <cstddef>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "shmq/inspect.hpp"

namespace shmq::output {

// Keys keep their insertion order, so documents read in the order docs/cli.md gives.
using Json = nlohmann::ordered_json;

// The registry entries' liveness: {alive, dead}.
std::pair<std::size_t, std::size_t> process_counts(const SegmentReport& report);

// The counters as a JSON object, {"msgs_put": N, ...} in kCounterFields order.
Json counters_json(const CounterSnapshot& c);

// The report as `shmq inspect NAME` prints it: "segment / kind / size / created" lines, the
// queue's or the Manager's lines, the processes and the counters (docs/cli.md).
std::string inspect_text(const SegmentReport& report);

}  // namespace shmq::output
