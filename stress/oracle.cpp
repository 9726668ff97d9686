#include "oracle.hpp"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>

#include "message.hpp"
#include "run_log.hpp"

namespace shmq::stress {

namespace {

// Up to this many missing messages are attributed one by one to killed consumers; beyond it the
// run is failing anyway, and only the bound is applied.
constexpr std::uint64_t kAttributeLimit = 200'000;
constexpr std::size_t kExamplesPerClass = 5;

struct Interval {
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
};

struct ProducerState {
  const Incarnation* inc = nullptr;
  std::uint64_t hwm = 0;  // committed: seqs [0, hwm)
  std::vector<Checkpoint> checkpoints;
  std::vector<Interval> deliveries;  // one per consumer log run (may overlap)
};

struct KilledConsumer {
  const Incarnation* inc = nullptr;
  std::vector<std::uint64_t> max_end;  // per producer index: 1 + highest seq it logged, or 0
};

struct Missing {
  std::size_t producer = 0;
  std::uint64_t seq = 0;
  std::uint64_t put_after_ns = 0;  // put(seq) was called after this time
};

// |[a, b) ∩ [lo, hi)|
std::uint64_t overlap(std::uint64_t a, std::uint64_t b, std::uint64_t lo, std::uint64_t hi) {
  const std::uint64_t x = std::max(a, lo);
  const std::uint64_t y = std::min(b, hi);
  return y > x ? y - x : 0;
}

class Reconciler {
 public:
  Reconciler(const Config& config, const RunOutcome& run) : config_(config), run_(run) {}
  Verdict run();

 private:
  void check_log(const Incarnation& inc, bool exists, std::uint64_t torn_bytes);
  void load_producers();
  void load_consumers();
  void load_consumer(const Incarnation& inc);
  void damaged_run(const Incarnation& inc, const Run& r, std::vector<std::uint64_t>& max_end);
  void deliver(const Incarnation& inc, std::vector<std::uint64_t>& max_end, std::size_t p,
               std::uint64_t first, std::uint64_t count);
  void sweep(std::vector<Missing>& missing);
  std::vector<Interval> merge_deliveries(std::size_t pi);
  std::uint64_t count_delivered(std::size_t pi, const std::vector<Interval>& merged);
  void find_gaps(std::size_t pi, const std::vector<Interval>& merged, std::uint64_t committed_end,
                 std::vector<Missing>& missing);
  void attribute(std::vector<Missing>& missing);
  void check_library();
  void example(std::uint64_t& shown, std::string text) {
    if (shown++ < kExamplesPerClass) v_.examples.push_back(std::move(text));
  }
  std::string label(std::size_t producer) const {
    const Incarnation& inc = *producers_[producer].inc;
    return fmt::format("producer id {} (slot {}, pid {}, {})", inc.id, inc.slot, inc.pid,
                       to_string(inc.end));
  }

  const Config& config_;
  const RunOutcome& run_;
  Verdict v_;
  std::vector<ProducerState> producers_;
  std::unordered_map<std::uint32_t, std::size_t> by_id_;
  std::vector<KilledConsumer> killed_;
  std::uint64_t shown_lost_ = 0, shown_dup_ = 0, shown_corrupt_ = 0, shown_reorder_ = 0;
};

// A process that exited by itself must have left a whole log; one killed (or failing) before it
// created its log did nothing, and one killed mid-write may leave a torn last record.
void Reconciler::check_log(const Incarnation& inc, bool exists, std::uint64_t torn_bytes) {
  if (!exists && inc.end == Incarnation::End::exited) {
    v_.harness_errors.push_back("no log from " + inc.log_path);
  }
  if (torn_bytes != 0) {
    v_.torn_bytes += torn_bytes;
    if (inc.end == Incarnation::End::exited) {
      v_.harness_errors.push_back("torn record in " + inc.log_path);
    }
  }
}

void Reconciler::load_producers() {
  for (const Incarnation& inc : run_.incarnations) {
    if (inc.role != Role::producer) continue;
    if (inc.killed()) ++v_.killed_producers;
    ProducerState p;
    p.inc = &inc;
    LoadedLog<Checkpoint> log = load_producer_log(inc.log_path);
    check_log(inc, log.exists, log.torn_bytes);
    for (std::size_t i = 1; i < log.records.size(); ++i) {
      if (log.records[i].committed < log.records[i - 1].committed ||
          log.records[i].t_ns < log.records[i - 1].t_ns) {
        v_.harness_errors.push_back("checkpoints out of order in " + inc.log_path);
        break;
      }
    }
    if (!log.records.empty()) p.hwm = log.records.back().committed;
    p.checkpoints = std::move(log.records);
    v_.committed += p.hwm;
    by_id_[inc.id] = producers_.size();
    producers_.push_back(std::move(p));
  }
  v_.logged_puts = v_.committed;
}

void Reconciler::load_consumers() {
  for (const Incarnation& inc : run_.incarnations) {
    if (inc.role == Role::consumer) load_consumer(inc);
  }
}

// Turns one consumer's log into deliveries, per producer.
void Reconciler::load_consumer(const Incarnation& inc) {
  LoadedLog<Run> log = load_consumer_log(inc.log_path);
  check_log(inc, log.exists, log.torn_bytes);
  std::vector<std::uint64_t> max_end(producers_.size(), 0);  // per producer: 1 + highest seq seen
  for (const Run& r : log.records) {
    if ((r.count & kDamaged) != 0) {
      damaged_run(inc, r, max_end);
      continue;
    }
    if (r.count == 0) {
      v_.harness_errors.push_back("empty run record in " + inc.log_path);
      continue;
    }
    v_.received += r.count;
    v_.logged_gets += r.count;
    const auto it = by_id_.find(r.producer);
    if (it == by_id_.end()) {
      v_.phantom += r.count;
      v_.corrupt += r.count;
      example(shown_corrupt_,
              fmt::format("corrupt: consumer id {} got {} message(s) from producer id {}, "
                          "which never ran",
                          inc.id, r.count, r.producer));
      continue;
    }
    deliver(inc, max_end, it->second, r.first_seq, r.count);
  }
  if (inc.killed()) {
    ++v_.killed_consumers;
    killed_.push_back({&inc, std::move(max_end)});
  }
}

// One damaged message: corrupt; a delivery too if its header is intact.
void Reconciler::damaged_run(const Incarnation& inc, const Run& r,
                             std::vector<std::uint64_t>& max_end) {
  const std::uint32_t flags = r.count & ~kDamaged;
  ++v_.corrupt;
  if ((flags & kLibraryCorrupt) == 0) {
    ++v_.received;
    ++v_.logged_gets;
  }
  example(shown_corrupt_,
          fmt::format("corrupt: consumer id {} got a damaged message ({}), header says "
                      "producer id {} seq {}",
                      inc.id, describe_flags(flags), r.producer, r.first_seq));
  // A message whose header is intact still counts as that message's delivery.
  const auto it = by_id_.find(r.producer);
  if ((flags & kHeaderFlags) == 0 && it != by_id_.end())
    deliver(inc, max_end, it->second, r.first_seq, 1);
}

// Seqs [first, first + count) of producer p reached this consumer; max_end[p] is 1 + the highest
// seq it had from p before.
void Reconciler::deliver(const Incarnation& inc, std::vector<std::uint64_t>& max_end, std::size_t p,
                         std::uint64_t first, std::uint64_t count) {
  const std::uint64_t end = first + count;
  const std::uint64_t seen = max_end[p];
  if (seen != 0 && first + 1 < seen) {
    // Below the highest seq this consumer already had from p: out of order (the one equal
    // to it is a repeat, counted by the sweep as a duplicate).
    const std::uint64_t n = std::min(end, seen - 1) - first;
    v_.reordered += n;
    example(shown_reorder_, fmt::format("reordered: consumer id {} got seq {} of {} after seq {}",
                                        inc.id, first, label(p), seen - 1));
  }
  max_end[p] = std::max(seen, end);
  producers_[p].deliveries.push_back({first, end});
}

void Reconciler::sweep(std::vector<Missing>& missing) {
  for (std::size_t pi = 0; pi < producers_.size(); ++pi) {
    const ProducerState& p = producers_[pi];
    const std::vector<Interval> merged = merge_deliveries(pi);
    const std::uint64_t top = count_delivered(pi, merged);
    // put(s) starts only after put(s - 1) returned ok, so below a delivered seq every put was
    // committed, logged or not.
    const std::uint64_t committed_end = std::max(p.hwm, top == 0 ? 0 : top - 1);
    find_gaps(pi, merged, committed_end, missing);
  }
}

// Producer pi's deliveries, sorted and merged: union segments, and the deliveries that overlap
// earlier ones (duplicates) counted.
std::vector<Interval> Reconciler::merge_deliveries(std::size_t pi) {
  ProducerState& p = producers_[pi];
  std::sort(p.deliveries.begin(), p.deliveries.end(),
            [](const Interval& a, const Interval& b) { return a.begin < b.begin; });
  std::vector<Interval> merged;
  for (const Interval& d : p.deliveries) {
    if (!merged.empty() && d.begin < merged.back().end) {
      const std::uint64_t dup = std::min(d.end, merged.back().end) - d.begin;
      v_.duplicated += dup;
      example(
          shown_dup_,
          fmt::format("duplicated: seq {}{} of {} delivered more than once", d.begin,
                      dup > 1 ? fmt::format("..{}", d.begin + dup - 1) : std::string(), label(pi)));
      merged.back().end = std::max(merged.back().end, d.end);
    } else if (!merged.empty() && d.begin == merged.back().end) {
      merged.back().end = d.end;
    } else {
      merged.push_back(d);
    }
  }
  return merged;
}

// Counts distinct, in-doubt and never-put deliveries of producer pi; returns 1 + the highest
// seq delivered within the allowed range (0 if none).
std::uint64_t Reconciler::count_delivered(std::size_t pi, const std::vector<Interval>& merged) {
  const ProducerState& p = producers_[pi];
  // A killed producer may have put up to `log_batch` messages it never logged: in doubt.
  // Anything beyond that (or any unlogged seq of a producer that exited cleanly) was never put.
  const std::uint64_t allowed_end = p.hwm + (p.inc->killed() ? config_.log_batch : 0);
  std::uint64_t top = 0;
  for (const Interval& m : merged) {
    v_.distinct += m.end - m.begin;
    v_.in_doubt_put += overlap(m.begin, m.end, p.hwm, allowed_end);
    const std::uint64_t beyond = overlap(m.begin, m.end, allowed_end, ~std::uint64_t{0});
    if (beyond != 0) {
      v_.phantom += beyond;
      v_.corrupt += beyond;
      example(shown_corrupt_,
              fmt::format("corrupt: {} seq {} delivered but never put (it logged {} puts)",
                          label(pi), std::max(m.begin, allowed_end), p.hwm));
    }
    if (m.begin < allowed_end) top = std::max(top, std::min(m.end, allowed_end));
  }
  return top;
}

// The committed seqs of producer pi below committed_end that no consumer got: undelivered, each
// (up to kAttributeLimit) with the time after which its put was called.
void Reconciler::find_gaps(std::size_t pi, const std::vector<Interval>& merged,
                           std::uint64_t committed_end, std::vector<Missing>& missing) {
  const ProducerState& p = producers_[pi];
  const auto gap = [&](std::uint64_t from, std::uint64_t to) {
    if (to <= from) return;
    v_.undelivered += to - from;
    for (std::uint64_t s = from; s < to && missing.size() <= kAttributeLimit; ++s) {
      // The last checkpoint at or below s: put(s) was called after its time.
      const auto it =
          std::upper_bound(p.checkpoints.begin(), p.checkpoints.end(), s,
                           [](std::uint64_t v, const Checkpoint& c) { return v < c.committed; });
      const std::uint64_t after = it == p.checkpoints.begin() ? p.inc->start_ns : (it - 1)->t_ns;
      missing.push_back({pi, s, after});
    }
  };
  std::uint64_t at = 0;
  for (const Interval& m : merged) {
    if (m.begin >= committed_end) break;
    gap(at, m.begin);
    at = m.end;
  }
  gap(at, committed_end);
}

void Reconciler::attribute(std::vector<Missing>& missing) {
  const std::uint64_t batch = config_.log_batch;
  const std::uint64_t capacity = batch * killed_.size();
  v_.in_doubt_bound = batch * (v_.killed_producers + v_.killed_consumers);
  // A run that did not drain left messages in the queue: undelivered is not lost, and there is
  // nothing to attribute.
  if (!v_.drained) return;
  if (v_.undelivered > kAttributeLimit) {
    // Too many to match one by one: attribute as many as the kills could explain.
    ++v_.attribution_limit_hit;
    v_.in_doubt_get = std::min(v_.undelivered, capacity);
    if (v_.undelivered > capacity && !missing.empty()) {
      example(shown_lost_, fmt::format("lost: {} committed messages never received, {} more than "
                                       "the kills can explain; the first is seq {} of {}",
                                       v_.undelivered, v_.undelivered - capacity, missing[0].seq,
                                       label(missing[0].producer)));
    }
  } else {
    // Bipartite matching (augmenting paths): a missing message m may be charged to killed
    // consumer c if c could have taken it last — m was put before c died, and c logged nothing
    // from m's producer at or after m's seq — and c has fewer than `batch` charges.
    const std::size_t k = killed_.size();
    std::vector<std::vector<std::size_t>> charged(k);
    const auto can = [&](const Missing& m, std::size_t c) {
      return m.put_after_ns < killed_[c].inc->end_ns && killed_[c].max_end[m.producer] <= m.seq;
    };
    std::vector<char> visited;
    const auto assign = [&](auto& self, std::size_t mi) -> bool {
      for (std::size_t c = 0; c < k; ++c) {
        if (visited[c] || !can(missing[mi], c)) continue;
        visited[c] = 1;
        if (charged[c].size() < batch) {
          charged[c].push_back(mi);
          return true;
        }
        for (std::size_t& other : charged[c]) {
          if (self(self, other)) {
            other = mi;
            return true;
          }
        }
      }
      return false;
    };
    for (std::size_t mi = 0; mi < missing.size(); ++mi) {
      visited.assign(k, 0);
      if (assign(assign, mi)) {
        ++v_.in_doubt_get;
      } else {
        const Missing& m = missing[mi];
        example(shown_lost_, fmt::format("lost: seq {} of {} was committed and never received",
                                         m.seq, label(m.producer)));
      }
    }
  }
  v_.lost = v_.undelivered - v_.in_doubt_get;
}

void Reconciler::check_library() {
  // A Manager's segments count requests, not messages: nothing to reconcile them with.
  if (config_.kind == Kind::manager) return;
  if (!run_.final_report) {
    v_.library_consistent = false;
    v_.library_notes.push_back("no final inspect report: " + run_.final_report_error);
    return;
  }
  v_.have_library = true;
  v_.library = run_.final_report->totals;
  const auto batch = static_cast<std::int64_t>(config_.log_batch);
  const auto within = [&](const char* what, std::uint64_t library, std::uint64_t logged,
                          std::uint64_t kills) {
    // Per killed process: the library may miss its last count (killed between the slot store
    // and the counter bump), and the log may miss up to `batch` entries.
    const auto d = static_cast<std::int64_t>(library - logged);
    const auto k = static_cast<std::int64_t>(kills);
    if (d < -k || d > batch * k) {
      v_.library_consistent = false;
      v_.library_notes.push_back(fmt::format(
          "{}: library counts {}, logs say {} (difference {}, allowed {}..{} for {} killed)", what,
          library, logged, d, -k, batch * k, kills));
    }
  };
  within("msgs_put", v_.library.msgs_put, v_.logged_puts, v_.killed_producers);
  within("msgs_got", v_.library.msgs_got, v_.logged_gets, v_.killed_consumers);
  const std::uint64_t kills = v_.killed_producers + v_.killed_consumers;
  if (v_.library.recovered_slots > kills) {
    v_.library_consistent = false;
    v_.library_notes.push_back(fmt::format("recovered_slots {} exceeds the {} killed processes",
                                           v_.library.recovered_slots, kills));
  }
  if (!run_.waiters_left.empty()) {
    v_.library_consistent = false;
    v_.library_notes.push_back(
        fmt::format("INV-E1: waiters bits left after every worker exited: {}", run_.waiters_left));
  }
  if (v_.library.in_doubt > v_.killed_consumers) {
    v_.library_consistent = false;
    v_.library_notes.push_back(fmt::format("in_doubt {} exceeds the {} killed consumers",
                                           v_.library.in_doubt, v_.killed_consumers));
  }
}

Verdict Reconciler::run() {
  v_.drained = run_.kind == RunOutcome::Kind::completed;
  load_producers();
  load_consumers();
  std::vector<Missing> missing;
  sweep(missing);
  attribute(missing);
  check_library();
  return std::move(v_);
}

}  // namespace

Verdict reconcile(const Config& config, const RunOutcome& run) {
  Reconciler r(config, run);
  return r.run();
}

}  // namespace shmq::stress
