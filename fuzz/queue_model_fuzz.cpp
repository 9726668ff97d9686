// Fuzz target: operation sequences on one process's Queue against a std::deque model.
// Any disagreement — a lost, duplicated, reordered or altered message, a wrong status — traps.
// The model keeps the skips that dropped claims leave (nullopt): they occupy a slot (size() and
// full() count them) until a getter passes over them.
#include <array>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <deque>
#include <optional>
#include <string>

#include "fuzz_support.hpp"
#include "queue_ops.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/shmq.hpp"

namespace {

using shmq::Status;
using shmq::fuzz::Input;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

using Model = std::deque<std::optional<std::string>>;

// What a getter does to the ring: pass over leading skips, then take one message if any.
std::optional<std::string> model_take(Model& m) {
  while (!m.empty() && !m.front())
    m.pop_front();
  if (m.empty()) return std::nullopt;
  std::string v = *m.front();
  m.pop_front();
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto shape = in.take<std::uint8_t>();
  const shmq::QueueOptions opt = shmq::fuzz::queue_options(shape, 24);
  const std::string name = shmq::fuzz::fuzz_name("model");
  shmq::detail::Segment::remove(name);
  {
    auto q =
        shmq::detail::create_queue_at<std::string>(name, opt, shmq::fuzz::start_position(shape, 5));
    Model model;
    bool closed = false;
    std::uint32_t next = 0;
    const auto fresh = [&](std::uint8_t len) {
      std::string s(len % 30, '.');
      for (std::size_t i = 0; i < s.size(); ++i)
        s[i] = static_cast<char>('a' + (next + i) % 26);
      ++next;
      return s;
    };
    for (int step = 0; step < 512 && !in.empty(); ++step) {
      const auto op = in.take<std::uint8_t>();
      const auto arg = in.take<std::uint8_t>();
      std::string out;
      switch (op % 8) {
        case 0: {
          const std::string v = fresh(arg);
          const Status s = q.try_put(v);
          if (closed) {
            check(s == Status::closed);
          } else if (v.size() > opt.max_message) {
            check(s == Status::too_large);
          } else if (model.size() == q.capacity()) {
            check(s == Status::full);
          } else {
            check(s == Status::ok);
            model.push_back(v);
          }
          break;
        }
        case 1: {
          const Status s = q.try_get(out);
          const auto expect = model_take(model);
          if (!expect) {
            check(s == (closed ? Status::closed : Status::empty));
          } else {
            check(s == Status::ok && out == *expect);
          }
          break;
        }
        case 2: {
          shmq::Queue<std::string>::PutClaim c;
          const Status s = q.try_claim(c);
          if (closed) {
            check(s == Status::closed);
            break;
          }
          if (model.size() == q.capacity()) {
            check(s == Status::full);
            break;
          }
          check(s == Status::ok);
          if (arg & 1) {
            const std::string v = fresh(arg >> 1);
            if (v.size() > c.buffer().size()) {
              check(c.commit(v.size()) == Status::too_large);  // published as a skip
              model.push_back(std::nullopt);
              break;
            }
            std::memcpy(c.buffer().data(), v.data(), v.size());
            check(c.commit(v.size()) == Status::ok);
            model.push_back(v);
          } else {
            model.push_back(std::nullopt);  // dropped: a skip that getters pass over
          }
          break;
        }
        case 3: {
          shmq::Queue<std::string>::GetClaim c;
          const Status s = q.try_get(c);
          const auto expect = model_take(model);
          if (!expect) {
            check(s == (closed ? Status::closed : Status::empty));
          } else {
            check(s == Status::ok);
            const auto d = c.data();
            check(std::string(reinterpret_cast<const char*>(d.data()), d.size()) == *expect);
          }
          break;
        }
        case 4: {
          std::array<std::string, 3> items{fresh(arg), fresh(arg + 1), fresh(arg + 2)};
          std::size_t n = 0;
          const Status s = q.try_put_many(items, n);
          std::size_t expect = 0;
          if (!closed) {
            while (expect < items.size() && model.size() + expect < q.capacity() &&
                   items[expect].size() <= opt.max_message) {
              ++expect;
            }
          }
          check(n == expect);
          // Why it stopped: closed first, then the element's size (checked before a slot is
          // claimed), then room.
          const Status why = expect == items.size()                   ? Status::ok
                             : closed                                 ? Status::closed
                             : items[expect].size() > opt.max_message ? Status::too_large
                                                                      : Status::full;
          check(s == why);
          for (std::size_t i = 0; i < n; ++i)
            model.push_back(items[i]);
          break;
        }
        case 5: {
          std::array<std::string, 3> got;
          std::size_t n = 0;
          const Status s = q.try_get_many(got, n);
          std::size_t expect = 0;
          while (expect < got.size()) {
            const auto v = model_take(model);
            if (!v) break;
            check(expect < n && got[expect] == *v);
            ++expect;
          }
          check(n == expect);
          check(s == (n != 0 ? Status::ok : closed ? Status::closed : Status::empty));
          break;
        }
        case 6:
          check(q.size() == model.size());
          check(q.empty() == model.empty());
          check(q.full() == (model.size() == q.capacity()));
          break;
        case 7:
          if (arg > 240) {
            q.close();
            closed = true;
          }
          break;
      }
    }
  }
  shmq::detail::Segment::remove(name);
  return 0;
}
