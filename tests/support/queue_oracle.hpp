// The oracle of the multi-party queue properties (queue_property_test.cpp with processes,
// queue_property_threads_test.cpp with threads): P producers each send a numbered run of
// self-checking messages; C consumers record what they took; the oracle checks that every message
// arrived exactly once, intact, and in its producer's order at every consumer.
#pragma once

#include <rapidcheck.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "shmq/detail/access.hpp"
#include "shmq/options.hpp"
#include "shmq/queue.hpp"

namespace shmq::test {

// A message: [producer u32][seq u32][payload length u32][checksum u64][payload bytes].
inline constexpr std::size_t kMessageHeader = 20;

struct Scenario {
  Producers producers = Producers::many;
  Consumers consumers = Consumers::many;
  std::uint64_t capacity = 0;
  std::uint32_t max_message = 0;  // at least kMessageHeader
  std::uint64_t start_position = 0;
  std::vector<std::uint32_t> counts;  // messages per producer
  int consumer_count = 0;
  std::uint64_t seed = 0;  // drives payloads and the verbs each party uses
};

inline std::ostream& operator<<(std::ostream& os, const Scenario& s) {
  os << (s.producers == Producers::one ? "SP" : "MP")
     << (s.consumers == Consumers::one ? "SC" : "MC") << " capacity=" << s.capacity
     << " max_message=" << s.max_message << " start=" << s.start_position << " producers=[";
  for (const auto c : s.counts)
    os << c << ' ';
  return os << "] consumers=" << s.consumer_count << " seed=" << s.seed;
}

// A scenario for rapidcheck: kinds, party counts (1..max_parties, one where the kind says so),
// capacities 1..64, message sizes up to max_message, positions sometimes just below the wrap.
inline Scenario generate_scenario(int max_parties, std::uint32_t max_count) {
  Scenario s;
  s.producers = *rc::gen::arbitrary<bool>() ? Producers::many : Producers::one;
  s.consumers = *rc::gen::arbitrary<bool>() ? Consumers::many : Consumers::one;
  const int p = s.producers == Producers::one ? 1 : *rc::gen::inRange(1, max_parties + 1);
  s.consumer_count = s.consumers == Consumers::one ? 1 : *rc::gen::inRange(1, max_parties + 1);
  s.capacity = *rc::gen::inRange<std::uint64_t>(1, 65);
  s.max_message = *rc::gen::inRange<std::uint32_t>(static_cast<std::uint32_t>(kMessageHeader), 400);
  s.start_position = *rc::gen::arbitrary<bool>() ? std::numeric_limits<std::uint64_t>::max() -
                                                       *rc::gen::inRange<std::uint64_t>(0, 200)
                                                 : 0;
  for (int i = 0; i < p; ++i)
    s.counts.push_back(*rc::gen::inRange<std::uint32_t>(0, max_count + 1));
  s.seed = *rc::gen::arbitrary<std::uint64_t>();
  return s;
}

inline std::uint64_t mix(std::uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

inline std::uint64_t checksum(const char* data, std::size_t n) {  // FNV-1a
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  return h;
}

// The message `seq` of `producer`: its payload length and bytes follow from the scenario's seed.
inline std::string make_message(const Scenario& s, std::uint32_t producer, std::uint32_t seq) {
  std::uint64_t r = mix(s.seed ^ (std::uint64_t{producer} << 32) ^ seq);
  const auto len = static_cast<std::uint32_t>(r % (s.max_message - kMessageHeader + 1));
  std::string m(kMessageHeader + len, '\0');
  for (std::uint32_t i = 0; i < len; ++i) {
    if (i % 8 == 0) r = mix(r);
    m[kMessageHeader + i] = static_cast<char>(r >> (8 * (i % 8)));
  }
  const std::uint64_t sum = checksum(m.data() + kMessageHeader, len);
  std::memcpy(m.data() + 0, &producer, 4);
  std::memcpy(m.data() + 4, &seq, 4);
  std::memcpy(m.data() + 8, &len, 4);
  std::memcpy(m.data() + 12, &sum, 8);
  return m;
}

// What a consumer recorded about one message: who sent it, its number, whether it was intact.
struct Record {
  std::uint32_t producer = 0;
  std::uint32_t seq = 0;
  std::uint32_t intact = 0;  // 1: header, checksum and payload all as sent
};

inline Record check_message(const Scenario& s, const char* data, std::size_t n) {
  Record r;
  r.producer = std::numeric_limits<std::uint32_t>::max();
  if (n < kMessageHeader) return r;
  std::uint32_t len = 0;
  std::uint64_t sum = 0;
  std::memcpy(&r.producer, data + 0, 4);
  std::memcpy(&r.seq, data + 4, 4);
  std::memcpy(&len, data + 8, 4);
  std::memcpy(&sum, data + 12, 8);
  const bool known = r.producer < s.counts.size() && r.seq < s.counts[r.producer];
  r.intact = known && len == n - kMessageHeader && sum == checksum(data + kMessageHeader, len) &&
             make_message(s, r.producer, r.seq) == std::string(data, n);
  return r;
}

// Returns what is wrong with the consumers' records, or an empty string.
inline std::string judge(const Scenario& s, const std::vector<std::vector<Record>>& per_consumer) {
  std::ostringstream err;
  std::vector<std::vector<int>> seen(s.counts.size());
  for (std::size_t p = 0; p < s.counts.size(); ++p)
    seen[p].assign(s.counts[p], 0);
  for (std::size_t c = 0; c < per_consumer.size(); ++c) {
    std::vector<std::int64_t> last(s.counts.size(), -1);
    for (const Record& r : per_consumer[c]) {
      if (!r.intact) {
        err << "consumer " << c << " got a damaged message (producer " << r.producer << ", seq "
            << r.seq << "); ";
        continue;
      }
      if (static_cast<std::int64_t>(r.seq) <= last[r.producer]) {
        err << "consumer " << c << " got seq " << r.seq << " of producer " << r.producer
            << " after seq " << last[r.producer] << "; ";
      }
      last[r.producer] = r.seq;
      ++seen[r.producer][r.seq];
    }
  }
  for (std::size_t p = 0; p < s.counts.size(); ++p) {
    for (std::uint32_t q = 0; q < s.counts[p]; ++q) {
      if (seen[p][q] != 1) {
        err << "message " << q << " of producer " << p << " arrived " << seen[p][q] << " times; ";
      }
    }
  }
  return err.str();
}

// Oversubscribed on 2 cores: spin briefly, then sleep in short slices.
inline WaitPolicy party_wait() {
  WaitPolicy w;
  w.spin_iterations = 200;
  w.sleep_slice = std::chrono::milliseconds(5);
  return w;
}

inline QueueOptions scenario_options(const Scenario& s) {
  QueueOptions o;
  o.capacity = s.capacity;
  o.producers = s.producers;
  o.consumers = s.consumers;
  o.max_message = s.max_message;
  o.wait = party_wait();
  return o;
}

// The scenario's queue, its ring started at s.start_position.
inline Queue<std::string> create_scenario_queue(const std::string& name, const Scenario& s) {
  return detail::create_queue_at<std::string>(name, scenario_options(s), s.start_position);
}

// Exit codes of a party.
inline constexpr int kPartyOk = 0;
inline constexpr int kPartyBadStatus = 20;

// Producer `id`: sends its messages with a mix of verbs (put, put_for, try_put in a loop,
// claim + commit, put_many). Returns kPartyOk or kPartyBadStatus.
inline int run_producer(const Scenario& s, std::uint32_t id, Queue<std::string>& q) {
  std::mt19937_64 rng(mix(s.seed + 1000 + id));
  const std::uint32_t n = s.counts[id];
  std::uint32_t seq = 0;
  while (seq < n) {
    const std::string m = make_message(s, id, seq);
    Status st = Status::ok;
    switch (rng() % 5) {
      case 0:
        st = q.put(m);
        break;
      case 1:
        st = q.put_for(m, std::chrono::seconds(30));
        break;
      case 2:
        while ((st = q.try_put(m)) == Status::full)
          std::this_thread::yield();
        break;
      case 3: {
        typename Queue<std::string>::PutClaim claim;
        st = q.claim(claim);
        if (st == Status::ok) {
          std::memcpy(claim.buffer().data(), m.data(), m.size());
          st = claim.commit(m.size());
        }
        break;
      }
      default: {
        std::vector<std::string> batch{m};
        const std::uint32_t extra = static_cast<std::uint32_t>(rng() % 4);
        for (std::uint32_t k = 1; k <= extra && seq + k < n; ++k) {
          batch.push_back(make_message(s, id, seq + k));
        }
        std::size_t put = 0;
        st = q.put_many(batch, put);
        if (st != Status::ok || put != batch.size()) return kPartyBadStatus;
        seq += static_cast<std::uint32_t>(batch.size());
        continue;
      }
    }
    if (st != Status::ok) return kPartyBadStatus;
    ++seq;
  }
  return kPartyOk;
}

// Consumer `id`: takes messages with a mix of verbs until the queue is closed and drained,
// passing a Record for each to `record`. Returns kPartyOk or kPartyBadStatus.
template <class RecordFn>
int run_consumer(const Scenario& s, std::uint32_t id, Queue<std::string>& q, RecordFn&& record) {
  std::mt19937_64 rng(mix(s.seed + 2000 + id));
  std::string out;
  std::vector<std::string> batch(4);
  for (;;) {
    Status st = Status::ok;
    switch (rng() % 5) {
      case 0:
        st = q.get(out);
        break;
      case 1:
        while ((st = q.get_for(out, std::chrono::milliseconds(20))) == Status::timeout) {
        }
        break;
      case 2:
        while ((st = q.try_get(out)) == Status::empty)
          std::this_thread::yield();
        break;
      case 3: {
        typename Queue<std::string>::GetClaim claim;
        st = q.get(claim);
        if (st == Status::ok) {
          const auto d = claim.data();
          record(check_message(s, reinterpret_cast<const char*>(d.data()), d.size()));
          continue;
        }
        break;
      }
      default: {
        std::size_t got = 0;
        st = q.get_many(batch, got);
        if (st == Status::ok) {
          for (std::size_t i = 0; i < got; ++i) {
            record(check_message(s, batch[i].data(), batch[i].size()));
          }
          continue;
        }
        break;
      }
    }
    if (st == Status::closed) return kPartyOk;
    if (st != Status::ok) return kPartyBadStatus;
    record(check_message(s, out.data(), out.size()));
  }
}

}  // namespace shmq::test
