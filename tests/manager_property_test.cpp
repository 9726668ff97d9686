// A rapidcheck state-machine test of a Manager dict against a model (an insertion-ordered list of
// pairs, as Python's dict), with every operation issued by one of three processes: this one and
// two forked workers that run the commands they are sent.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "manager_test_support.hpp"
#include "shmq/manager.hpp"
#include "support/test_support.hpp"

namespace {

using shmq::Manager;
using shmq::test::Child;
using shmq::test::fast_options;
using shmq::test::ScopedManagerName;
using shmq::test::ScopedName;

using Dict = shmq::Dict<std::string, int>;
using Items = std::vector<std::pair<std::string, int>>;

// A command, as text: op, dict name, key, value, and for update the pairs.
struct Cmd {
  std::string op;
  std::string dict;
  std::string key;
  int value = 0;
  Items pairs;
};

std::string encode(const Cmd& c) {
  std::string out;
  shmq::encode_field(c.op, out);
  shmq::encode_field(c.dict, out);
  shmq::encode_field(c.key, out);
  shmq::encode_field(c.value, out);
  std::vector<std::string> keys;
  std::vector<int> values;
  for (const auto& [k, v] : c.pairs) {
    keys.push_back(k);
    values.push_back(v);
  }
  shmq::encode_field(keys, out);
  shmq::encode_field(values, out);
  return out;
}

Cmd decode(std::string_view in) {
  Cmd c;
  std::vector<std::string> keys;
  std::vector<int> values;
  if (!(shmq::decode_field(in, c.op) && shmq::decode_field(in, c.dict) &&
        shmq::decode_field(in, c.key) && shmq::decode_field(in, c.value) &&
        shmq::decode_field(in, keys) && shmq::decode_field(in, values))) {
    c.op = "bad";
  }
  for (std::size_t i = 0; i < keys.size() && i < values.size(); ++i)
    c.pairs.emplace_back(keys[i], values[i]);
  return c;
}

std::string show_optional(const std::optional<int>& v) {
  return v ? std::to_string(*v) : "None";
}

// Runs one command on the dict and describes its result.
std::string execute(const Manager& m, const Cmd& c) {
  const Dict d = m.dict<std::string, int>(c.dict);
  if (c.op == "set") {
    d.set(c.key, c.value);
    return "ok";
  }
  if (c.op == "get") return show_optional(d.get(c.key));
  if (c.op == "erase") return d.erase(c.key) ? "True" : "False";
  if (c.op == "contains") return d.contains(c.key) ? "True" : "False";
  if (c.op == "pop") return show_optional(d.pop(c.key));
  if (c.op == "setdefault") return std::to_string(d.setdefault(c.key, c.value));
  if (c.op == "size") return std::to_string(d.size());
  if (c.op == "clear") {
    d.clear();
    return "ok";
  }
  if (c.op == "update") {
    d.update(c.pairs);
    return "ok";
  }
  if (c.op == "print") return d.to_string();
  return "unknown op " + c.op;
}

// The model: Python's dict semantics on an insertion-ordered list.
struct Model {
  Items items;
  Items::iterator find(const std::string& k) {
    return std::find_if(items.begin(), items.end(), [&](const auto& kv) { return kv.first == k; });
  }
  std::string python() const {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i != 0) out += ", ";
      out += shmq::repr(items[i].first) + ": " + std::to_string(items[i].second);
    }
    return out + "}";
  }
};

// The system under test: the dict, reached from process `actor` (0 = this one).
struct Sut {
  const Manager* manager = nullptr;
  std::vector<shmq::Queue<std::string>>* commands = nullptr;
  std::vector<shmq::Queue<std::string>>* results = nullptr;
  std::string dict;

  std::string run(int actor, Cmd c) {
    c.dict = dict;
    if (actor == 0) return execute(*manager, c);
    auto& to = (*commands)[static_cast<std::size_t>(actor - 1)];
    auto& from = (*results)[static_cast<std::size_t>(actor - 1)];
    if (to.put(encode(c)) != shmq::Status::ok) return "worker queue failed";
    std::string r;
    if (from.get_for(r, std::chrono::seconds(30)) != shmq::Status::ok) return "worker silent";
    return r;
  }
};

struct DictCommand : rc::state::Command<Model, Sut> {
  int actor = *rc::gen::inRange(0, 3);
  std::string key = *rc::gen::element<std::string>("a", "b", "c", "it's", "");
  int value = *rc::gen::inRange(-50, 50);

  // The command's text and the model's answer (which also changes `m` for mutations).
  virtual Cmd cmd() const = 0;
  virtual std::string expect(Model& m) const = 0;

  void apply(Model& m) const override { (void)expect(m); }
  void run(const Model& m, Sut& sut) const override {
    Model after = m;
    const std::string want = expect(after);
    RC_ASSERT(sut.run(actor, cmd()) == want);
  }
  void show(std::ostream& os) const override {
    const Cmd c = cmd();
    os << "process " << actor << ": " << c.op << "(" << shmq::repr(c.key) << ", " << c.value << ", "
       << c.pairs.size() << " pairs)";
  }
};

struct Set : DictCommand {
  Cmd cmd() const override { return {"set", "", key, value, {}}; }
  std::string expect(Model& m) const override {
    if (auto it = m.find(key); it != m.items.end()) {
      it->second = value;
    } else {
      m.items.emplace_back(key, value);
    }
    return "ok";
  }
};
struct Get : DictCommand {
  Cmd cmd() const override { return {"get", "", key, 0, {}}; }
  std::string expect(Model& m) const override {
    const auto it = m.find(key);
    return it == m.items.end() ? "None" : std::to_string(it->second);
  }
};
struct Erase : DictCommand {
  Cmd cmd() const override { return {"erase", "", key, 0, {}}; }
  std::string expect(Model& m) const override {
    const auto it = m.find(key);
    if (it == m.items.end()) return "False";
    m.items.erase(it);
    return "True";
  }
};
struct Contains : DictCommand {
  Cmd cmd() const override { return {"contains", "", key, 0, {}}; }
  std::string expect(Model& m) const override {
    return m.find(key) == m.items.end() ? "False" : "True";
  }
};
struct Pop : DictCommand {
  Cmd cmd() const override { return {"pop", "", key, 0, {}}; }
  std::string expect(Model& m) const override {
    const auto it = m.find(key);
    if (it == m.items.end()) return "None";
    const int v = it->second;
    m.items.erase(it);
    return std::to_string(v);
  }
};
struct SetDefault : DictCommand {
  Cmd cmd() const override { return {"setdefault", "", key, value, {}}; }
  std::string expect(Model& m) const override {
    if (const auto it = m.find(key); it != m.items.end()) return std::to_string(it->second);
    m.items.emplace_back(key, value);
    return std::to_string(value);
  }
};
struct Size : DictCommand {
  Cmd cmd() const override { return {"size", "", "", 0, {}}; }
  std::string expect(Model& m) const override { return std::to_string(m.items.size()); }
};
struct Clear : DictCommand {
  Cmd cmd() const override { return {"clear", "", "", 0, {}}; }
  std::string expect(Model& m) const override {
    m.items.clear();
    return "ok";
  }
};
struct Update : DictCommand {
  Items pairs = *rc::gen::container<Items>(
      rc::gen::pair(rc::gen::element<std::string>("a", "b", "d", "e"), rc::gen::inRange(0, 9)));
  Cmd cmd() const override { return {"update", "", "", 0, pairs}; }
  std::string expect(Model& m) const override {
    for (const auto& [k, v] : pairs) {
      if (auto it = m.find(k); it != m.items.end()) {
        it->second = v;
      } else {
        m.items.emplace_back(k, v);
      }
    }
    return "ok";
  }
};
struct Print : DictCommand {
  Cmd cmd() const override { return {"print", "", "", 0, {}}; }
  std::string expect(Model& m) const override { return m.python(); }
};

// A worker: runs the commands it gets, answers with their results, until its queue closes.
int worker(const Manager& m, shmq::Queue<std::string>& commands,
           shmq::Queue<std::string>& results) {
  std::string msg;
  while (commands.get(msg) == shmq::Status::ok) {
    std::string r;
    try {
      r = execute(m, decode(msg));
    } catch (const std::exception& e) {
      r = std::string("exception: ") + e.what();
    }
    if (results.put(r) != shmq::Status::ok) return 1;
  }
  return 0;
}

TEST(ManagerDictProperty, OperationsFromThreeProcessesMatchAnOrderedDictModel) {
  const std::uint64_t seed = shmq::test::test_seed("ManagerDictProperty");
  if (std::getenv("RC_PARAMS") == nullptr) {  // rapidcheck reads it at its first use
    const std::string params = "seed=" + std::to_string(seed) + " max_success=60";
    setenv("RC_PARAMS", params.c_str(), 1);
  }
  ScopedManagerName name("mgr-prop");
  auto m = Manager::create(name, fast_options());
  std::deque<ScopedName> queue_names;
  std::vector<shmq::Queue<std::string>> commands;
  std::vector<shmq::Queue<std::string>> results;
  for (int w = 0; w < 4; ++w)
    queue_names.emplace_back("mgr-prop-q");
  const shmq::QueueOptions q{.capacity = 4, .max_message = 4096};
  for (int w = 0; w < 2; ++w) {
    commands.push_back(shmq::Queue<std::string>::create(queue_names[2 * w].str(), q));
    results.push_back(shmq::Queue<std::string>::create(queue_names[2 * w + 1].str(), q));
  }
  std::vector<Child> workers;
  for (std::size_t w = 0; w < 2; ++w)
    workers.emplace_back([&, w] { return worker(m, commands[w], results[w]); });

  int round = 0;
  const bool ok = rc::check("a Manager dict behaves as an ordered dict", [&] {
    Sut sut{&m, &commands, &results, "d" + std::to_string(round++)};
    rc::state::check(Model{}, sut,
                     rc::state::gen::execOneOfWithArgs<Set, Set, Get, Erase, Contains, Pop,
                                                       SetDefault, Size, Clear, Update, Print>());
  });
  EXPECT_TRUE(ok);
  for (auto& c : commands)
    c.close();
  for (auto& w : workers)
    EXPECT_EQ(w.wait(std::chrono::seconds(30)), 0);
}

}  // namespace
