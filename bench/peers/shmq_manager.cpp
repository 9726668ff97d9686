// shmq's rows of the manager figure: a shmq::Manager server (Manager::serve, in a process of its
// own, pinned like every other child) and one client (Manager::open) calling a
// dict<int64, int64> back to back — the figure Python's Manager().dict() is compared with.
// Both use ManagerOptions{} (spin 1000 iterations, not adaptive, then futex).
#include <cstdint>
#include <stdexcept>
#include <utility>
#include <vector>

#include "../workloads.hpp"
#include "cleanup.hpp"
#include "peers.hpp"
#include "shmq/shmq.hpp"

namespace shmq_bench {
namespace {

using Dict = shmq::Dict<std::int64_t, std::int64_t>;

std::int64_t key_of(std::uint64_t i) {
  return static_cast<std::int64_t>(i % kDictKeys);
}

// One client's connection: every call is one request and its reply.
class DictClient {
 public:
  DictClient(shmq::Manager manager, bool set)
      : manager_(std::move(manager)),
        dict_(manager_.dict<std::int64_t, std::int64_t>("d")),
        set_(set) {
    if (!set_) {  // the gets read keys that hold a known value; one bulk call
      std::vector<std::pair<std::int64_t, std::int64_t>> items;
      for (std::uint64_t k = 0; k < kDictKeys; ++k)
        items.emplace_back(key_of(k), expected_get(k));
      dict_.update(items);
    }
  }
  void call(std::uint64_t i) {
    if (set_) {
      dict_.set(key_of(i), static_cast<std::int64_t>(i));
      return;
    }
    const std::optional<std::int64_t> v = dict_.get(key_of(i));
    if (v != expected_get(i)) throw std::runtime_error("dict get: wrong value");
  }
  // The oracle of the sets: each key holds the last value set for it (one snapshot call).
  void finish(std::uint64_t n) {
    if (set_) {
      const auto items = dict_.items();
      if (items.size() != std::min(n, kDictKeys)) {
        throw std::runtime_error(fmt::format("dict set: {} keys after {} sets", items.size(), n));
      }
      for (const auto& [key, value] : items) {
        const auto k = static_cast<std::uint64_t>(key);
        const std::uint64_t last = (n - 1 - k) / kDictKeys * kDictKeys + k;
        if (k >= n || value != static_cast<std::int64_t>(last)) {
          throw std::runtime_error(
              fmt::format("dict set: key {} holds {}, not {}", k, value, last));
        }
      }
    }
    manager_.shutdown();
  }

 private:
  static std::int64_t expected_get(std::uint64_t i) { return key_of(i) * 3 + 1; }

  shmq::Manager manager_;
  Dict dict_;
  bool set_;
};

// The server creates the manager once every process is ready: wait for its name to appear.
shmq::Manager open_when_served(const std::string& name, const shmq::ManagerOptions& o) {
  const std::int64_t deadline = now_ns() + 10'000'000'000;
  for (;;) {
    try {
      return shmq::Manager::open(name, o);
    } catch (const shmq::Error& e) {
      if (e.code() != shmq::Errc::not_found || now_ns() > deadline) throw;
    }
    cpu_relax();
  }
}

class ManagerRun final : public Run {
 public:
  ManagerRun(const Variant& v, const std::string& unique)
      : set_(v.name == kDictSet), name_(unique + "-mgr") {
    cleanup_.add([name = name_] { shmq::Manager::remove(name); });
  }
  void child(ChildContext& ctx) override {
    shmq::ManagerOptions o;
    o.handle_signals = false;  // the runner stops its children with SIGKILL
    if (ctx.role() == Role::server) {
      server(ctx, [&] { shmq::Manager::serve(name_, o); });
    } else {
      client(ctx, [&] { return DictClient(open_when_served(name_, o), set_); });
    }
  }

 private:
  bool set_;
  std::string name_;
  Cleanup cleanup_;
};

}  // namespace

std::vector<Variant> shmq_manager_variants() {
  return {{std::string(kDictSet), "Manager dict<int64,int64> set, ManagerOptions{}", 1, 1, true},
          {std::string(kDictGet), "Manager dict<int64,int64> get, ManagerOptions{}", 1, 1, true}};
}

std::unique_ptr<Run> make_shmq_manager_run(const Variant& v, const std::string& unique) {
  return std::make_unique<ManagerRun>(v, unique);
}

}  // namespace shmq_bench
