// The `shmq` tool, run as a real binary against live segments made by this test: queues with
// producer and consumer processes running, queues nobody consumes, segments whose processes were
// SIGKILLed, corrupt files, and bad command lines.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shmq/detail/layout.hpp"
#include "shmq/error.hpp"
#include "shmq/inspect.hpp"
#include "shmq/manager.hpp"
#include "shmq/queue.hpp"
#include "support/test_support.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Json = nlohmann::json;
using shmq::test::Child;
using shmq::test::ScopedName;
using StringQueue = shmq::Queue<std::string>;

struct CliResult {
  int rc = -1;  // exit code, 128+signal, or -1 if it did not end in time
  std::string out;
  std::string err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// A temporary file, removed when the handle goes.
struct TempFile {
  TempFile() {
    char tmpl[] = "/tmp/shmq-cli-test-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    if (fd >= 0) ::close(fd);
    path = tmpl;
  }
  ~TempFile() { ::unlink(path.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  std::string path;
};

// The shmq binary running with `args`. posix_spawn, not fork: it runs no atfork handlers, so the
// tool does not inherit this process's attachments (a forked child re-attaches every segment its
// parent holds, and the tool would count that attachment as a live process).
class CliProcess {
 public:
  explicit CliProcess(const std::vector<std::string>& args) {
    std::vector<std::string> argv_storage{SHMQ_CLI_PATH};
    argv_storage.insert(argv_storage.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_storage)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_.path.c_str(), O_WRONLY | O_TRUNC,
                                     0);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err_.path.c_str(), O_WRONLY | O_TRUNC,
                                     0);
    if (posix_spawn(&pid_, SHMQ_CLI_PATH, &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
  }
  ~CliProcess() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  std::string out_so_far() const { return slurp(out_.path); }

  // Waits for the tool to end (SIGKILLs it after `timeout`: rc -1) and collects its output.
  CliResult finish(std::chrono::milliseconds timeout = 30s) {
    CliResult result;
    if (pid_ <= 0) {
      result.err = "posix_spawn failed";
      return result;
    }
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        result.rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      // deliberate-sleep: the poll interval of a bounded wait for the tool's exit.
      std::this_thread::sleep_for(2ms);
    }
    pid_ = -1;
    result.out = slurp(out_.path);
    result.err = slurp(err_.path);
    return result;
  }

 private:
  TempFile out_;
  TempFile err_;
  pid_t pid_ = -1;
};

// Runs the tool to its end.
CliResult run_cli(const std::vector<std::string>& args, std::chrono::milliseconds timeout = 30s) {
  CliProcess tool(args);
  return tool.finish(timeout);
}

// Whether process `pid` catches signal `sig` (has a handler installed): its SigCgt mask in
// /proc/PID/status.
bool catches(pid_t pid, int sig) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("SigCgt:", 0) != 0) continue;
    const unsigned long long mask = std::strtoull(line.c_str() + 7, nullptr, 16);
    return ((mask >> (sig - 1)) & 1U) != 0;
  }
  return false;
}

// Parses the tool's stdout as JSON, failing the test (not crashing it) on bad JSON.
Json parse(const CliResult& r) {
  Json doc = Json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << "not JSON:\n" << r.out << "\nstderr:\n" << r.err;
  return doc;
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    // deliberate-sleep: the poll interval of a bounded wait on a state.
    std::this_thread::sleep_for(5ms);
  }
  return condition();
}

std::size_t live_processes(const std::string& name) {
  try {
    return shmq::inspect(name).live_processes();
  } catch (const shmq::Error&) {
    return 0;
  }
}

bool exists(const std::string& name) {
  try {
    shmq::inspect(name);
    return true;
  } catch (const shmq::Error& e) {
    return e.code() != shmq::make_error_code(shmq::Errc::not_found);
  }
}

const Json* find_listed(const Json& ls, const std::string& name) {
  for (const Json& s : ls.at("segments"))
    if (s.at("name") == name) return &s;
  return nullptr;
}

// Overwrites `size` bytes at `offset` of the segment's file.
void scribble(const std::string& name, std::size_t offset, const void* bytes, std::size_t size) {
  const int fd = ::open(shmq::detail::segment_path(name).c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::pwrite(fd, bytes, size, static_cast<off_t>(offset)), static_cast<ssize_t>(size));
  ::close(fd);
}

// A queue with a producer and a consumer process that put/get in a loop until it is closed.
// The children use the handle they inherit (as their own attachment), so exactly three
// processes are attached: this one, the producer and the consumer.
struct LiveQueue {
  explicit LiveQueue(const std::string& name)
      : queue(StringQueue::create(name, {.capacity = 64,
                                         .producers = shmq::Producers::one,
                                         .consumers = shmq::Consumers::one,
                                         .max_message = 128})),
        producer([this] {
          for (std::uint64_t i = 0;; ++i) {
            const shmq::Status s = queue.put_for("message " + std::to_string(i), 10ms);
            if (s == shmq::Status::closed) return 0;
            if (s != shmq::Status::ok && s != shmq::Status::timeout) return 2;
          }
        }),
        consumer([this] {
          std::string got;
          for (;;) {
            const shmq::Status s = queue.get_for(got, 10ms);
            if (s == shmq::Status::closed) return 0;
            if (s != shmq::Status::ok && s != shmq::Status::timeout) return 3;
          }
        }) {}
  ~LiveQueue() { queue.close(); }

  // Both children attached, and messages flowing.
  bool running(const std::string& name) const {
    return eventually([&] {
      const shmq::SegmentReport r = shmq::inspect(name);
      return r.live_processes() == 3 && r.totals.msgs_put > 0 && r.totals.msgs_got > 0;
    });
  }
  // Closes the queue; both children end by themselves.
  void stop() {
    queue.close();
    EXPECT_EQ(producer.wait(), 0);
    EXPECT_EQ(consumer.wait(), 0);
  }

  StringQueue queue;
  Child producer;
  Child consumer;
};

// ---- ls / inspect ----

TEST(CliTest, LsJsonReportsALiveQueueWithItsModeCapacityDepthAndProcesses) {
  ScopedName name("cli-ls");
  LiveQueue live(name);
  ASSERT_TRUE(live.running(name));

  const CliResult r = run_cli({"ls", "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  const Json doc = parse(r);
  EXPECT_EQ(doc.at("version"), 1);
  const Json* entry = find_listed(doc, name);
  ASSERT_NE(entry, nullptr) << r.out;
  EXPECT_EQ(entry->at("kind"), "queue");
  EXPECT_TRUE(entry->at("error").is_null());
  EXPECT_EQ(entry->at("mode"), "spsc");
  EXPECT_EQ(entry->at("capacity"), 64);
  EXPECT_GE(entry->at("depth").get<int>(), 0);
  EXPECT_LE(entry->at("depth").get<int>(), 64);
  EXPECT_EQ(entry->at("closed"), false);
  EXPECT_EQ(entry->at("processes_alive"), 3);
  EXPECT_EQ(entry->at("processes_dead"), 0);
  EXPECT_GT(entry->at("size_bytes").get<std::uint64_t>(), 64U * 128U);
  EXPECT_GE(entry->at("age_s").get<double>(), 0.0);
  EXPECT_LT(entry->at("age_s").get<double>(), 600.0);
  live.stop();
}

TEST(CliTest, LsPrintsAnAlignedTableWithTheQueue) {
  ScopedName name("cli-ls-table");
  LiveQueue live(name);
  ASSERT_TRUE(live.running(name));

  const CliResult r = run_cli({"ls"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::istringstream lines(r.out);
  std::string header;
  std::getline(lines, header);
  EXPECT_EQ(header.rfind("NAME", 0), 0U) << r.out;
  const std::size_t kind_column = header.find("KIND");
  ASSERT_NE(kind_column, std::string::npos);
  bool found = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name.str() + " ", 0) != 0) continue;
    found = true;
    EXPECT_EQ(line.substr(kind_column, 5), "queue") << line;  // columns line up with the header
    EXPECT_NE(line.find("spsc"), std::string::npos) << line;
  }
  EXPECT_TRUE(found) << r.out;
  live.stop();
}

TEST(CliTest, InspectJsonShowsHeaderPositionsRegistryAndCounters) {
  ScopedName name("cli-inspect");
  LiveQueue live(name);
  ASSERT_TRUE(live.running(name));

  const CliResult r = run_cli({"inspect", name, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json doc = parse(r);
  EXPECT_EQ(doc.at("version"), 1);
  EXPECT_EQ(doc.at("name"), name.str());
  EXPECT_EQ(doc.at("kind"), "queue");
  EXPECT_EQ(doc.at("layout_version"), shmq::detail::kLayoutVersion);
  EXPECT_EQ(doc.at("creator_pid"), static_cast<int>(getpid()));
  EXPECT_GT(doc.at("size_bytes").get<std::uint64_t>(), 0U);

  const Json& q = doc.at("queue");
  EXPECT_EQ(q.at("mode"), "spsc");
  EXPECT_EQ(q.at("element"), "bytes");
  EXPECT_TRUE(q.at("element_type").is_null()) << q;
  EXPECT_EQ(q.at("capacity"), 64);
  EXPECT_EQ(q.at("max_message"), 128);
  EXPECT_EQ(q.at("closed"), false);
  const auto head = q.at("head").get<std::uint64_t>();
  const auto tail = q.at("tail").get<std::uint64_t>();
  EXPECT_LE(q.at("depth").get<std::uint64_t>(), 64U);
  // INV-R1 on the tool's snapshot (one instant: inspect.cpp): a single side's index may lag by one
  // (tail behind a taken message's head, or head behind a freed slot).
  const auto depth = static_cast<std::int64_t>(tail - head);
  EXPECT_GE(depth, -1) << "head " << head << " tail " << tail;
  EXPECT_LE(depth, 65) << "head " << head << " tail " << tail;
  EXPECT_TRUE(q.at("sleepers").contains("not_empty"));
  EXPECT_TRUE(q.at("sleepers").contains("not_full"));
  EXPECT_EQ(q.at("producer_pid"), static_cast<int>(live.producer.pid()));
  EXPECT_EQ(q.at("consumer_pid"), static_cast<int>(live.consumer.pid()));

  EXPECT_EQ(doc.at("processes_alive"), 3);
  EXPECT_EQ(doc.at("processes_dead"), 0);
  bool saw_producer = false;
  bool saw_consumer = false;
  for (const Json& p : doc.at("processes")) {
    EXPECT_EQ(p.at("alive"), true);
    EXPECT_GT(p.at("attached_unix_ns").get<std::uint64_t>(), 0U);
    const Json& roles = p.at("roles");
    if (p.at("pid") == live.producer.pid()) {
      saw_producer = true;
      EXPECT_EQ(roles, Json::array({"producer"}));
      EXPECT_GT(p.at("counters").at("msgs_put").get<std::uint64_t>(), 0U);
    }
    if (p.at("pid") == live.consumer.pid()) {
      saw_consumer = true;
      EXPECT_EQ(roles, Json::array({"consumer"}));
      EXPECT_GT(p.at("counters").at("msgs_got").get<std::uint64_t>(), 0U);
    }
  }
  EXPECT_TRUE(saw_producer);
  EXPECT_TRUE(saw_consumer);
  const Json& counters = doc.at("counters");
  EXPECT_GT(counters.at("msgs_put").get<std::uint64_t>(), 0U);
  EXPECT_GT(counters.at("bytes_put").get<std::uint64_t>(), 0U);
  EXPECT_GT(counters.at("msgs_got").get<std::uint64_t>(), 0U);
  for (const char* key : {"full_events", "empty_events", "sleeps", "wakes", "timeouts", "closes",
                          "recovered_slots", "in_doubt"}) {
    EXPECT_TRUE(counters.contains(key)) << key;
  }

  const CliResult text = run_cli({"inspect", name});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("processes: 3 alive, 0 dead"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("msgs_put"), std::string::npos) << text.out;
  live.stop();
}

TEST(CliTest, InspectNamesTheElementTypeAFixedSizeQueueRecorded) {
  ScopedName name("cli-inspect-type");
  auto queue = shmq::Queue<double>::create(name.str(), {.capacity = 8});
  ASSERT_EQ(queue.try_put(1.5), shmq::Status::ok);

  const CliResult r = run_cli({"inspect", name, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json doc = parse(r);
  const Json& q = doc.at("queue");
  EXPECT_EQ(q.at("element"), "fixed:8");
  EXPECT_EQ(q.at("element_type"), "double");

  const CliResult text = run_cli({"inspect", name});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find("fixed:8 (double) elements"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("\nmsgs_put "), std::string::npos) << text.out;
}

TEST(CliTest, InspectCountsAKilledProcessAsDead) {
  ScopedName name("cli-dead");
  auto queue = StringQueue::create(name.str(), {.capacity = 8});
  Child victim([&] {
    // Its try_put returned (the message is in, its attachment counted): it says so, with the
    // status, before it is killed.
    shmq::test::report_ready(static_cast<std::uint64_t>(queue.try_put("from the victim")));
    for (;;)
      ::pause();
    return 0;
  });
  std::uint64_t put_status = 0;
  ASSERT_TRUE(victim.wait_ready(&put_status));
  ASSERT_EQ(put_status, static_cast<std::uint64_t>(shmq::Status::ok));
  ASSERT_EQ(live_processes(name), 2U);
  victim.kill();
  ASSERT_EQ(victim.wait(), 128 + SIGKILL);

  const CliResult r = run_cli({"inspect", name, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json doc = parse(r);
  EXPECT_EQ(doc.at("processes_alive"), 1);
  EXPECT_EQ(doc.at("processes_dead"), 1);
  EXPECT_EQ(doc.at("queue").at("depth"), 1);
}

// A same-user process that shrinks a segment's file while the tool reads it: the tool reports a
// runtime error (exit 1), never dies of SIGBUS.
TEST(CliTest, WatchReportsAFileShrunkUnderItAsAnErrorNotACrash) {
  ScopedName name("cli-shrunk");
  auto queue = StringQueue::create(name.str(), {.capacity = 1024});
  CliProcess tool({"watch", name, "--interval", "20", "--count", "100000"});
  ASSERT_TRUE(eventually([&] { return !tool.out_so_far().empty(); })) << "watch is running";
  const int fd = ::open(shmq::detail::segment_path(name.str()).c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 4096), 0);  // inside the header: every later read is past the end
  ::close(fd);
  const CliResult r = tool.finish(30s);
  // Between two refreshes the next open sees a corrupt file; inside one, the access past the
  // end is a SIGBUS that the tool turns into the same exit code.
  EXPECT_EQ(r.rc, 1) << r.err;
  EXPECT_NE(r.err.find("shmq: "), std::string::npos) << r.err;
  // The SIGBUS path itself, made deterministic: the signal a read past the end raises, sent to
  // a tool watching a healthy queue.
  ScopedName healthy("cli-sigbus");
  auto other = StringQueue::create(healthy.str(), {.capacity = 8});
  CliProcess again({"watch", healthy, "--interval", "20", "--count", "100000"});
  ASSERT_TRUE(eventually([&] { return !again.out_so_far().empty(); })) << "watch is running";
  again.signal(SIGBUS);
  const CliResult bus = again.finish(30s);
  EXPECT_EQ(bus.rc, 1) << bus.err;
  EXPECT_NE(bus.err.find("shrank"), std::string::npos) << bus.err;
}

// ---- watch ----

TEST(CliTest, WatchPrintsOneLinePerRefreshWhenNotATerminal) {
  ScopedName name("cli-watch");
  LiveQueue live(name);
  ASSERT_TRUE(live.running(name));

  const CliResult r = run_cli({"watch", name, "--interval", "100", "--count", "3"});
  ASSERT_EQ(r.rc, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);)
    lines.push_back(line);
  ASSERT_EQ(lines.size(), 2U + 3U) << r.out;  // title, header, one row per refresh
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << "no ANSI codes when not a terminal";
  EXPECT_NE(lines[0].find(name.str()), std::string::npos);
  EXPECT_NE(lines[1].find("PUT/S"), std::string::npos);
  bool moving = false;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    std::istringstream row(lines[i]);
    std::string time;
    std::string put_rate;
    row >> time >> put_rate;
    moving = moving || put_rate != "0";
  }
  EXPECT_TRUE(moving) << r.out;
  live.stop();
}

TEST(CliTest, WatchEndsCleanlyOnCtrlC) {
  ScopedName name("cli-watch-int");
  auto queue = StringQueue::create(name.str(), {.capacity = 8});
  CliProcess tool({"watch", name, "--interval", "50"});
  // SIGINT once the tool catches it and has printed its header: not before its handler is in.
  EXPECT_TRUE(shmq::test::wait_until([&] {
    return catches(tool.pid(), SIGINT) && tool.out_so_far().find("PUT/S") != std::string::npos;
  }));
  tool.signal(SIGINT);
  const CliResult r = tool.finish(60s);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("PUT/S"), std::string::npos) << r.out;
}

// ---- dump ----

TEST(CliTest, DumpShowsWhatWasPutWithoutConsumingIt) {
  ScopedName name("cli-dump");
  auto queue = StringQueue::create(name.str(), {.capacity = 16, .max_message = 64});
  const std::vector<std::string> put = {
      "alpha",      "beta", "", "with spaces and \"quotes\"", std::string("bin\0\xff", 5),
      "caf\xc3\xa9"};
  for (const auto& m : put)
    ASSERT_EQ(queue.try_put(m), shmq::Status::ok);

  const CliResult r = run_cli({"dump", name, "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json doc = parse(r);
  EXPECT_EQ(doc.at("version"), 1);
  EXPECT_EQ(doc.at("name"), name.str());
  ASSERT_EQ(doc.at("count"), put.size());
  const Json& messages = doc.at("messages");
  ASSERT_EQ(messages.size(), put.size());
  for (std::size_t i = 0; i < put.size(); ++i) {
    const Json& m = messages[i];
    EXPECT_EQ(m.at("index"), i);
    EXPECT_EQ(m.at("size"), put[i].size());
    std::string hex;
    for (const unsigned char c : put[i]) {
      hex += "0123456789abcdef"[c >> 4U];
      hex += "0123456789abcdef"[c & 0xFU];
    }
    EXPECT_EQ(m.at("hex"), hex) << i;
    if (i == 4) {
      EXPECT_TRUE(m.at("text").is_null()) << "not UTF-8";
    } else {
      EXPECT_EQ(m.at("text"), put[i]) << i;
    }
  }

  const CliResult limited = run_cli({"dump", name, "--max", "2", "--format", "json"});
  ASSERT_EQ(limited.rc, 0) << limited.err;
  EXPECT_EQ(parse(limited).at("count"), 2);

  const CliResult text = run_cli({"dump", name, "--format", "text"});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_EQ(text.out, "alpha\nbeta\n\nwith spaces and \"quotes\"\nbin\\x00\\xff\ncaf\\xc3\\xa9\n");

  const CliResult hex = run_cli({"dump", name});
  ASSERT_EQ(hex.rc, 0) << hex.err;
  EXPECT_NE(hex.out.find("#0  5 bytes"), std::string::npos) << hex.out;
  EXPECT_NE(hex.out.find("61 6c 70 68 61"), std::string::npos) << hex.out;
  EXPECT_NE(hex.out.find("|alpha|"), std::string::npos) << hex.out;

  // Nothing was consumed: the queue still holds every message, in order.
  EXPECT_EQ(queue.size(), put.size());
  std::string got;
  ASSERT_EQ(queue.try_get(got), shmq::Status::ok);
  EXPECT_EQ(got, "alpha");
}

TEST(CliTest, DumpOfAnEmptyQueuePrintsNoMessages) {
  ScopedName name("cli-dump-empty");
  auto queue = StringQueue::create(name.str(), {.capacity = 4});
  const CliResult r = run_cli({"dump", name, "--format", "json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(parse(r).at("messages"), Json::array());
}

// ---- rm ----

TEST(CliTest, RmRefusesWhileALiveProcessIsAttachedAndForceUnlinks) {
  ScopedName name("cli-rm");
  auto queue = StringQueue::create(name.str(), {.capacity = 8});

  const CliResult refused = run_cli({"rm", name});
  EXPECT_EQ(refused.rc, 1);
  EXPECT_EQ(refused.err.rfind("shmq: segment \"" + name.str() + "\": ", 0), 0U) << refused.err;
  EXPECT_NE(refused.err.find("live process"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
  EXPECT_TRUE(exists(name));

  const CliResult forced = run_cli({"rm", "--force", name});
  EXPECT_EQ(forced.rc, 0) << forced.err;
  EXPECT_EQ(forced.out, "removed " + name.str() + "\n");
  EXPECT_FALSE(exists(name));
  // The attached process keeps working on its mapping.
  EXPECT_EQ(queue.try_put("still here"), shmq::Status::ok);
}

TEST(CliTest, RmUnlinksASegmentNobodyIsAttachedToAndReportsMissingOnes) {
  ScopedName idle("cli-rm-idle");
  ScopedName missing("cli-rm-missing");
  { auto queue = StringQueue::create(idle.str(), {.capacity = 8}); }
  const CliResult r = run_cli({"rm", missing, idle});
  EXPECT_EQ(r.rc, 1);  // one of them failed
  EXPECT_EQ(r.out, "removed " + idle.str() + "\n");
  EXPECT_EQ(r.err, "shmq: segment \"" + missing.str() + "\": no such segment\n");
  EXPECT_FALSE(exists(idle));
}

// ---- gc ----

TEST(CliTest, GcRemovesOnlySegmentsWhoseProcessesWereAllKilled) {
  const std::string prefix = "cli-gc-" + std::to_string(getpid());
  ScopedName dead(prefix + "-dead");
  ScopedName live(prefix + "-live");
  // This process holds neither queue: each child creates its own and sleeps.
  const auto holder = [](const std::string& name) {
    return [name] {
      auto queue = StringQueue::create(name, {.capacity = 8});
      shmq::test::report_ready();
      for (;;)
        ::pause();
      return 0;
    };
  };
  Child dead_holder(holder(dead));
  Child live_holder(holder(live));
  ASSERT_TRUE(dead_holder.wait_ready());
  ASSERT_TRUE(live_holder.wait_ready());
  ASSERT_EQ(live_processes(dead), 1U);
  ASSERT_EQ(live_processes(live), 1U);
  dead_holder.kill(SIGKILL);
  ASSERT_EQ(dead_holder.wait(), 128 + SIGKILL);

  // Dry run, over every segment of this user: lists the dead one, not the live one; removes none.
  // Other jobs' segments are listed too, whatever they are: only this test's are asserted on.
  const CliResult dry = run_cli({"gc", "--dry-run", "--json"});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  const Json doc = parse(dry);
  EXPECT_EQ(doc.at("dry_run"), true);
  bool listed_dead = false;
  for (const Json& s : doc.at("segments")) {
    if (s.at("name").get<std::string>().rfind(prefix, 0) != 0) continue;  // not this test's
    EXPECT_NE(s.at("name"), live.str());
    EXPECT_EQ(s.at("removed"), false);
    if (s.at("name") == dead.str()) {
      listed_dead = true;
      EXPECT_EQ(s.at("reason"), "no live process attached");
    }
  }
  EXPECT_TRUE(listed_dead) << dry.out;
  EXPECT_TRUE(exists(dead));

  // The real run, limited to this test's names (other tests' idle segments are not ours).
  const CliResult gc = run_cli({"gc", "--prefix", prefix});
  ASSERT_EQ(gc.rc, 0) << gc.err;
  EXPECT_EQ(gc.out, "removed " + dead.str() + ": no live process attached\n");
  EXPECT_FALSE(exists(dead));
  EXPECT_TRUE(exists(live));
  EXPECT_EQ(live_processes(live), 1U);

  // Idempotent.
  const CliResult again = run_cli({"gc", "--prefix", prefix});
  ASSERT_EQ(again.rc, 0) << again.err;
  EXPECT_EQ(again.out, "nothing to remove\n");
  EXPECT_TRUE(exists(live));
}

// "The producer finished, the consumer has not started yet" is not garbage.
TEST(CliTest, GcKeepsAQueueThatStillHoldsMessagesUnlessIncludeBacklog) {
  const std::string prefix = "cli-gc-backlog-" + std::to_string(getpid());
  ScopedName full(prefix + "-full");
  ScopedName empty(prefix + "-empty");
  // A producer that put three messages and finished; nobody has consumed yet.
  Child producer([&] {
    auto queue = StringQueue::create(full.str(), {.capacity = 8});
    for (const char* m : {"a", "b", "c"})
      if (queue.put(m) != shmq::Status::ok) return 1;
    auto drained = StringQueue::create(empty.str(), {.capacity = 8});
    return 0;
  });
  ASSERT_EQ(producer.wait(), 0);
  ASSERT_EQ(live_processes(full), 0U);

  const std::string kept_line = "kept " + full.str() +
                                ": no live process attached, but it holds 3 messages "
                                "(--include-backlog removes it)\n";
  const CliResult dry = run_cli({"gc", "--dry-run", "--prefix", prefix});
  ASSERT_EQ(dry.rc, 0) << dry.err;
  EXPECT_EQ(dry.out, "would remove " + empty.str() +
                         ": no live process attached; would lose 0 messages\n" + kept_line);

  const CliResult gc = run_cli({"gc", "--prefix", prefix});
  ASSERT_EQ(gc.rc, 0) << gc.err;
  EXPECT_EQ(gc.out, "removed " + empty.str() + ": no live process attached\n" + kept_line);
  EXPECT_TRUE(exists(full));
  EXPECT_FALSE(exists(empty));

  const CliResult json =
      run_cli({"gc", "--dry-run", "--include-backlog", "--json", "--prefix", prefix});
  ASSERT_EQ(json.rc, 0) << json.err;
  const Json doc = parse(json);
  ASSERT_EQ(doc.at("segments").size(), 1U) << json.out;
  const Json& entry = doc.at("segments").at(0);
  EXPECT_EQ(entry.at("name"), full.str());
  EXPECT_EQ(entry.at("backlog").at("messages"), 3);
  EXPECT_EQ(entry.at("backlog").at("unread_bytes"), 0);
  EXPECT_EQ(entry.at("backlog").at("journal_bytes"), 0);
  EXPECT_EQ(entry.at("kept"), false);
  EXPECT_EQ(entry.at("removed"), false);

  const CliResult forced = run_cli({"gc", "--include-backlog", "--prefix", prefix});
  ASSERT_EQ(forced.rc, 0) << forced.err;
  EXPECT_EQ(forced.out, "removed " + full.str() + ": no live process attached; lost 3 messages\n");
  EXPECT_FALSE(exists(full));
}

// ---- serve ----

std::string fmt_server_line(pid_t pid) {
  return "server      pid " + std::to_string(pid) + ", alive, epoch 1";
}

// Unlinks every name a manager uses when the test ends, pass or fail.
struct ScopedManagerName {
  explicit ScopedManagerName(std::string prefix) : name(std::move(prefix)) {
    shmq::Manager::remove(name.str());
  }
  ~ScopedManagerName() { shmq::Manager::remove(name.str()); }
  ScopedName name;
};

TEST(CliTest, ServeRunsAManagerServerUntilSigterm) {
  ScopedManagerName scoped("cli-serve");
  const std::string& name = scoped.name.str();
  CliProcess server({"serve", name});
  // Serving once the tool's own process is attached to the manager's segment.
  const auto serving = [&] {
    try {
      for (const shmq::AttachedProcess& p : shmq::inspect(name).processes)
        if (p.alive && static_cast<pid_t>(p.pid) == server.pid()) return true;
    } catch (const shmq::Error&) {
    }
    return false;
  };
  ASSERT_TRUE(eventually(serving)) << server.finish(1s).err;
  EXPECT_NE(server.out_so_far().find("manager " + name), std::string::npos);
  {
    auto manager = shmq::Manager::open(name);
    auto scores = manager.dict<std::string, int>("scores");
    scores.set("Darr_en1", 22);
    EXPECT_EQ(scores.get("Darr_en1"), 22);

    const CliResult r = run_cli({"inspect", name, "--json"});
    ASSERT_EQ(r.rc, 0) << r.err;
    const Json doc = parse(r);
    EXPECT_EQ(doc.at("kind"), "manager");
    bool saw_server = false;
    for (const Json& p : doc.at("processes"))
      saw_server = saw_server || (p.at("pid") == server.pid() && p.at("alive") == true);
    EXPECT_TRUE(saw_server) << "the tool's own process serves it:\n" << r.out;
  }
  server.signal(SIGTERM);
  const CliResult r = server.finish(10s);
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_NE(r.out.find("stopped"), std::string::npos) << r.out;
}

// While `shmq serve NAME` runs: its journal is listed as the manager's journal, not as a broken
// segment, and inspect shows the manager's server, clients and requests, not queue counters.
TEST(CliTest, LsAndInspectRecogniseALiveManagerAndItsJournal) {
  ScopedManagerName scoped("cli-mgr");
  const std::string& name = scoped.name.str();
  CliProcess server({"serve", name});
  const auto serving = [&] {
    try {
      const shmq::SegmentReport r = shmq::inspect(name);
      return r.manager && r.manager->server_alive &&
             static_cast<pid_t>(r.manager->server_pid) == server.pid();
    } catch (const shmq::Error&) {
      return false;
    }
  };
  ASSERT_TRUE(eventually(serving)) << server.finish(1s).err;
  auto manager = shmq::Manager::open(name);
  auto scores = manager.dict<std::string, int>("scores");
  scores.set("Darr_en1", 22);
  ASSERT_EQ(scores.get("Darr_en1"), 22);

  const std::string journal = name + ".journal";
  const CliResult ls = run_cli({"ls", "--json"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  const Json listed = parse(ls);
  const Json* entry = find_listed(listed, journal);
  ASSERT_NE(entry, nullptr) << ls.out;
  EXPECT_EQ(entry->at("kind"), "journal");
  EXPECT_EQ(entry->at("journal_of"), name);
  EXPECT_TRUE(entry->at("error").is_null());
  EXPECT_GT(entry->at("size_bytes").get<std::uint64_t>(), 8U) << "magic and a record";
  const CliResult table = run_cli({"ls"});
  ASSERT_EQ(table.rc, 0) << table.err;
  EXPECT_NE(table.out.find("journal of manager " + name), std::string::npos) << table.out;
  // Only this test's names: other jobs may have anything in /dev/shm (an incomplete segment of a
  // concurrent test made this fail).
  std::istringstream rows(table.out);
  for (std::string row; std::getline(rows, row);) {
    if (row.starts_with(name)) {
      EXPECT_EQ(row.find("incomplete"), std::string::npos) << row;
    }
  }

  const CliResult r = run_cli({"inspect", name, "--json"});
  ASSERT_EQ(r.rc, 0) << r.err;
  const Json doc = parse(r);
  EXPECT_TRUE(doc.at("queue").is_null());
  const Json& m = doc.at("manager");
  EXPECT_EQ(m.at("state"), "serving");
  EXPECT_EQ(m.at("server_pid"), server.pid());
  EXPECT_EQ(m.at("server_alive"), true);
  EXPECT_EQ(m.at("epoch"), 1);
  EXPECT_EQ(m.at("clients_ever"), 1);
  ASSERT_EQ(m.at("clients").size(), 1U) << r.out;
  EXPECT_EQ(m.at("clients").at(0).at("id"), 1);
  EXPECT_EQ(m.at("clients").at(0).at("pid"), getpid());
  EXPECT_EQ(m.at("clients").at(0).at("alive"), true);
  EXPECT_GE(m.at("requests").get<std::uint64_t>(), 2U) << "at least the set and the get";
  EXPECT_EQ(m.at("malformed"), 0);
  EXPECT_EQ(m.at("journal_bytes"), entry->at("size_bytes"));
  for (const Json& p : doc.at("processes")) {
    if (p.at("alive") != true) continue;
    const std::vector<std::string> roles = p.at("roles");
    EXPECT_EQ(roles, std::vector<std::string>{p.at("pid") == server.pid() ? "server" : "client"});
  }

  const CliResult text = run_cli({"inspect", name});
  ASSERT_EQ(text.rc, 0) << text.err;
  EXPECT_NE(text.out.find(fmt_server_line(server.pid())), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("clients     1 now: 1 (pid " + std::to_string(getpid()) + "); 1 ever"),
            std::string::npos)
      << text.out;
  EXPECT_EQ(text.out.find("msgs_put"), std::string::npos) << "no queue counters:\n" << text.out;

  const CliResult of_journal = run_cli({"inspect", journal});
  EXPECT_EQ(of_journal.rc, 1);
  EXPECT_EQ(of_journal.err, "shmq: segment \"" + journal + "\": the journal of manager " + name +
                                ", a plain file (`shmq inspect " + name + "` shows the manager)\n");

  server.signal(SIGTERM);
  const CliResult end = server.finish(10s);
  EXPECT_EQ(end.rc, 0) << end.err;
}

// ---- errors ----

TEST(CliTest, AMissingSegmentExitsOneWithAMessageThatNamesIt) {
  ScopedName name("cli-missing");
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"inspect", name}, {"inspect", name, "--json"}, {"dump", name}, {"watch", name}}) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.rc, 1) << args[0];
    EXPECT_EQ(r.out, "") << args[0];
    EXPECT_EQ(r.err, "shmq: segment \"" + name.str() + "\": no such segment\n") << args[0];
  }
}

TEST(CliTest, ASegmentWithAForeignMagicIsListedAsForeignAndInspectFailsClearly) {
  ScopedName name("cli-foreign");
  { auto queue = StringQueue::create(name.str(), {.capacity = 8}); }
  const std::uint64_t garbage = 0x0123456789abcdefULL;
  scribble(name, offsetof(shmq::detail::SegmentHeader, magic), &garbage, sizeof(garbage));

  const CliResult ls = run_cli({"ls", "--json"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  const Json listed = parse(ls);
  const Json* entry = find_listed(listed, name);
  ASSERT_NE(entry, nullptr) << ls.out;
  EXPECT_EQ(entry->at("kind"), "foreign");
  EXPECT_NE(entry->at("error").get<std::string>().find("magic"), std::string::npos) << *entry;
  EXPECT_TRUE(entry->at("capacity").is_null());

  const CliResult table = run_cli({"ls"});
  ASSERT_EQ(table.rc, 0) << table.err;
  bool table_row = false;
  std::istringstream lines(table.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::string first;
    std::string second;
    cells >> first >> second;
    if (first == name.str()) table_row = second == "foreign";
  }
  EXPECT_TRUE(table_row) << table.out;

  const CliResult r = run_cli({"inspect", name});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.err.rfind("shmq: segment \"" + name.str() + "\": magic 0x0123456789abcdef", 0), 0U)
      << r.err;
  EXPECT_EQ(run_cli({"dump", name}).rc, 1);

  // gc never touches a file without shmq's magic; rm does.
  const CliResult gc = run_cli({"gc", "--dry-run", "--prefix", name});
  EXPECT_EQ(gc.out, "nothing to remove\n");
  EXPECT_EQ(run_cli({"rm", name}).rc, 0);
  EXPECT_FALSE(exists(name));
}

TEST(CliTest, ACorruptSegmentIsListedAsCorruptAndInspectFailsClearly) {
  ScopedName name("cli-corrupt");
  { auto queue = StringQueue::create(name.str(), {.capacity = 8}); }
  const std::uint64_t garbage = 0xdeadbeefULL;
  scribble(name, offsetof(shmq::detail::SegmentHeader, total_bytes), &garbage, sizeof(garbage));

  const CliResult ls = run_cli({"ls", "--json"});
  ASSERT_EQ(ls.rc, 0) << ls.err;
  const Json listed = parse(ls);
  const Json* entry = find_listed(listed, name);
  ASSERT_NE(entry, nullptr) << ls.out;
  EXPECT_EQ(entry->at("kind"), "corrupt");
  EXPECT_FALSE(entry->at("error").get<std::string>().empty());

  const CliResult r = run_cli({"inspect", name, "--json"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err.rfind("shmq: segment \"" + name.str() + "\": ", 0), 0U) << r.err;
  EXPECT_NE(r.err.find("3735928559"), std::string::npos) << "names the bad size: " << r.err;
}

TEST(CliTest, AnInvalidNameIsRefusedWithAClearMessage) {
  for (const std::string& bad :
       std::vector<std::string>{"has/slash", "", ".hidden", std::string(300, 'x')}) {
    const CliResult r = run_cli({"inspect", bad});
    EXPECT_TRUE(r.rc == 1 || r.rc == 2) << bad << ": " << r.rc;
    EXPECT_EQ(r.err.rfind("shmq: ", 0), 0U) << r.err;
    EXPECT_NE(r.err.find("name"), std::string::npos) << r.err;
  }
  const CliResult slash = run_cli({"rm", "has/slash"});
  EXPECT_EQ(slash.rc, 1);
  EXPECT_EQ(slash.err,
            "shmq: segment \"has/slash\": the name has character '/', which is not allowed "
            "(use [A-Za-z0-9._-])\n");
}

TEST(CliTest, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"frobnicate"},
                                             {"inspect"},
                                             {"ls", "--bogus"},
                                             {"dump", "x", "--format", "yaml"},
                                             {"dump", "x", "--max", "many"},
                                             {"watch", "x", "--interval", "0"},
                                             {"rm"}}) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.rc, 2) << (args.empty() ? "(none)" : args[0]) << ": " << r.err;
    EXPECT_EQ(r.err.rfind("shmq: ", 0), 0U) << r.err;
    EXPECT_EQ(r.out, "");
  }
}

TEST(CliTest, NoArgumentsPrintsTheHelpAndExitsZero) {
  const CliResult r = run_cli({});
  EXPECT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(r.err, "");
  EXPECT_EQ(r.out, run_cli({"--help"}).out);
  EXPECT_NE(r.out.find("Usage: shmq"), std::string::npos) << r.out;
}

TEST(CliTest, AnUnknownCommandIsNamedAndExitsTwo) {
  const CliResult r = run_cli({"frobnicate", "--json"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "shmq: unknown command 'frobnicate'\nRun with --help for more information.\n");
}

// The help names where the documentation is, since cmake --install does not install docs/.
TEST(CliTest, HelpPointsToTheDocsInTheSourceTree) {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--help"}, {"ls", "--help"}, {"inspect", "--help"}, {"gc", "--help"}}) {
    const CliResult r = run_cli(args);
    EXPECT_EQ(r.rc, 0) << args[0];
    const std::string where = "docs/cli.md in shmq's sources";
    std::size_t at = 0;
    std::size_t mentions = 0;
    while ((at = r.out.find("docs/", at)) != std::string::npos) {
      ++mentions;
      EXPECT_EQ(r.out.compare(at, where.size(), where), 0) << r.out.substr(at, 40);
      at += 5;
    }
    EXPECT_GE(mentions, 1U) << r.out;
  }
}

TEST(CliTest, HelpAndVersionExitZero) {
  const CliResult help = run_cli({"--help"});
  EXPECT_EQ(help.rc, 0);
  for (const char* command : {"ls", "inspect", "watch", "dump", "rm", "gc", "serve"})
    EXPECT_NE(help.out.find(command), std::string::npos) << command;
  const CliResult version = run_cli({"--version"});
  EXPECT_EQ(version.rc, 0);
  EXPECT_EQ(version.out.rfind("shmq ", 0), 0U);
}

}  // namespace
