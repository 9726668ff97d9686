// shmq::Manager: dict operations, printing, Codec, several processes, hostile requests.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "manager_test_support.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/manager.hpp"
#include "support/test_support.hpp"

namespace {

using shmq::Manager;
using shmq::test::Child;
using shmq::test::fast_options;
using shmq::test::ScopedManagerName;

// A user type that is not trivially copyable: needs a Codec.
struct Reading {
  std::string sensor;
  std::vector<double> samples;
  bool operator==(const Reading&) const = default;
};

}  // namespace

template <>
struct shmq::Codec<Reading> {
  static void encode(const Reading& v, std::string& out) {
    shmq::encode_field(v.sensor, out);
    shmq::encode_field(v.samples, out);
  }
  static bool decode(std::string_view in, Reading& v) {
    return shmq::decode_field(in, v.sensor) && shmq::decode_field(in, v.samples) && in.empty();
  }
  static void repr(const Reading& v, std::string& out) {
    out.append("Reading(");
    shmq::Codec<std::string>::repr(v.sensor, out);
    out.append(", ");
    shmq::Codec<std::vector<double>>::repr(v.samples, out);
    out.append(")");
  }
};

namespace {

TEST(ManagerDict, SetGetEraseContainsAndSizeBehaveLikePython) {
  ScopedManagerName name("mgr-dict");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  EXPECT_EQ(d.size(), 0U);
  EXPECT_TRUE(d.empty());
  EXPECT_EQ(d.get("x"), std::nullopt);
  EXPECT_EQ(d.get("x", 7), 7);
  d.set("x", 1);
  d.set("y", 2);
  EXPECT_EQ(d.get("x"), 1);
  EXPECT_TRUE(d.contains("y"));
  EXPECT_FALSE(d.contains("z"));
  EXPECT_EQ(d.size(), 2U);
  EXPECT_TRUE(d.erase("x"));
  EXPECT_FALSE(d.erase("x"));
  EXPECT_EQ(d.size(), 1U);
  m.shutdown();
}

TEST(ManagerDict, ItemsKeepInsertionOrderAndResettingAKeyKeepsItsPlace) {
  ScopedManagerName name("mgr-order");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  d.set("b", 1);
  d.set("a", 2);
  d.set("c", 3);
  d.set("b", 4);  // keeps its place
  d.erase("a");
  d.set("a", 5);  // goes to the end
  const std::vector<std::pair<std::string, int>> want{{"b", 4}, {"c", 3}, {"a", 5}};
  EXPECT_EQ(d.items(), want);
  EXPECT_EQ(d.keys(), (std::vector<std::string>{"b", "c", "a"}));
  EXPECT_EQ(d.values(), (std::vector<int>{4, 3, 5}));
}

TEST(ManagerDict, UpdateClearSetdefaultAndPopBehaveLikePython) {
  ScopedManagerName name("mgr-update");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  d.update({{"a", 1}, {"b", 2}, {"a", 3}});
  EXPECT_EQ(d.to_string(), "{'a': 3, 'b': 2}");
  EXPECT_EQ(d.setdefault("a", 9), 3);
  EXPECT_EQ(d.setdefault("c", 9), 9);
  EXPECT_EQ(d.pop("a"), 3);
  EXPECT_EQ(d.pop("a"), std::nullopt);
  EXPECT_EQ(d.pop("a", -1), -1);
  EXPECT_EQ(d.to_string(), "{'b': 2, 'c': 9}");
  d.clear();
  EXPECT_EQ(d.to_string(), "{}");
}

TEST(ManagerDict, PrintsKeysAndValuesInPythonsForm) {
  ScopedManagerName name("mgr-print");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  d.set("Darr_en1", 22);
  d.set("Darr_en2", 44);
  std::ostringstream os;
  os << d;
  EXPECT_EQ(os.str(), "{'Darr_en1': 22, 'Darr_en2': 44}");

  auto f = m.dict<int, double>("f");
  f.set(1, 1.0);
  f.set(-2, 0.1);
  f.set(3, 1e16);
  f.set(4, 1.5e-7);
  EXPECT_EQ(f.to_string(), "{1: 1.0, -2: 0.1, 3: 1e+16, 4: 1.5e-07}");

  auto s = m.dict<std::string, std::string>("s");
  s.set("it's", "say \"hi\"\n");
  s.set("both'\"", "tab\t");
  EXPECT_EQ(s.to_string(), R"({"it's": 'say "hi"\n', 'both\'"': 'tab\t'})");

  auto b = m.dict<bool, char>("b");
  b.set(true, 'x');
  EXPECT_EQ(b.to_string(), "{True: 'x'}");
}

TEST(ManagerDict, ASecondHandleWithTheSameNameIsTheSameObject) {
  ScopedManagerName name("mgr-same");
  auto m = Manager::create(name, fast_options());
  auto d1 = m.dict<std::string, int>("d");
  d1.set("k", 1);
  auto other = Manager::open(name, fast_options());
  auto d2 = other.dict<std::string, int>("d");
  EXPECT_EQ(d2.get("k"), 1);
  d2.set("k", 2);
  EXPECT_EQ(d1.get("k"), 2);
}

TEST(ManagerDict, OtherTypesOrAnotherKindUnderTheSameNameAreRefused) {
  ScopedManagerName name("mgr-types");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  try {
    m.dict<std::string, double>("d");
    FAIL() << "opened with other types";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::type_mismatch)) << e.what();
    // Demangled (issue 11), not NSt7__cxx1112basic_string…
    EXPECT_NE(std::string(e.what()).find("holds <std::string, int>, opened as <std::string, "
                                         "double>"),
              std::string::npos)
        << e.what();
  }
  try {
    m.list<int>("d");
    FAIL() << "opened as another kind";
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::wrong_kind)) << e.what();
    EXPECT_NE(std::string(e.what()).find("is a dict, not a list"), std::string::npos) << e.what();
  }
}

TEST(ManagerDict, AUserTypeWithACodecRoundTripsAndPrints) {
  ScopedManagerName name("mgr-codec");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, Reading>("readings");
  const Reading r{"probe-1", {1.5, 2.0, -0.25}};
  d.set("first", r);
  EXPECT_EQ(d.get("first"), r);
  EXPECT_EQ(d.to_string(), "{'first': Reading('probe-1', [1.5, 2.0, -0.25])}");
  auto by_reading = m.dict<Reading, int>("by-reading");  // as a key too
  by_reading.set(r, 3);
  EXPECT_EQ(by_reading.get(r), 3);
  EXPECT_EQ(by_reading.get(Reading{"probe-2", {}}), std::nullopt);
}

TEST(ManagerDict, ValuesLargerThanOneMessageTravelInParts) {
  ScopedManagerName name("mgr-large");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, std::string>("d");
  std::string big(300'000, '\0');
  for (std::size_t i = 0; i < big.size(); ++i)
    big[i] = static_cast<char>('a' + i % 26);
  d.set("big", big);
  EXPECT_EQ(d.get("big"), big);
  std::vector<std::pair<std::string, std::string>> many;
  for (int i = 0; i < 2000; ++i)
    many.emplace_back("k" + std::to_string(i), std::string(100, 'v'));
  d.update(many);
  EXPECT_EQ(d.size(), 2001U);
  EXPECT_EQ(d.items().size(), 2001U);
}

TEST(ManagerDictProcesses, TwoProcessesEachSetAKeyOfOneDict) {
  ScopedManagerName name("mgr-two");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  Child p1([&] {
    d.set("Darr_en1", 22);  // an inherited handle
    return 0;
  });
  ASSERT_EQ(p1.wait(), 0);
  Child p2([&] {
    auto own = Manager::open(name, fast_options());  // a connection of its own
    own.dict<std::string, int>("d").set("Darr_en2", 44);
    return 0;
  });
  ASSERT_EQ(p2.wait(), 0);
  EXPECT_EQ(d.to_string(), "{'Darr_en1': 22, 'Darr_en2': 44}");
}

TEST(ManagerDictProcesses, ThreeProcessesWritingAtOnceLoseNoUpdate) {
  ScopedManagerName name("mgr-three");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  auto lock = m.lock("l");
  auto counter = m.value<int>("counter", 0);
  constexpr int kPerProcess = 200;
  std::vector<Child> children;
  for (int p = 0; p < 3; ++p) {
    children.emplace_back([&, p] {
      for (int i = 0; i < kPerProcess; ++i) {
        d.set("p" + std::to_string(p) + "-" + std::to_string(i), i);
        std::lock_guard guard(lock);  // read-modify-write under a Manager lock
        counter.set(counter.get() + 1);
      }
      return 0;
    });
  }
  for (auto& c : children)
    ASSERT_EQ(c.wait(), 0);
  EXPECT_EQ(d.size(), 3U * kPerProcess);
  EXPECT_EQ(counter.get(), 3 * kPerProcess);
  for (int p = 0; p < 3; ++p)
    EXPECT_EQ(d.get("p" + std::to_string(p) + "-" + std::to_string(kPerProcess - 1)),
              kPerProcess - 1);
}

TEST(ManagerServer, MalformedRequestsAreCountedAndTheServerKeepsServing) {
  ScopedManagerName name("mgr-hostile");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  d.set("k", 1);
  auto requests = shmq::Queue<std::string>::open(shmq::detail::manager_request_name(name.str()));
  const std::uint64_t seed = shmq::test::test_seed("ManagerServer.Malformed");
  std::mt19937_64 rng(seed);
  // Garbage frames, and well-formed headers (of this client) with garbage bodies.
  for (int i = 0; i < 300; ++i) {
    std::string frame(rng() % 200, '\0');
    for (char& c : frame)
      c = static_cast<char>(rng());
    if (i % 2 == 0 && frame.size() >= 32) {
      shmq::detail::wire::FrameHeader h;
      h.op = static_cast<shmq::detail::wire::Op>(rng() % 100);
      if (h.op == shmq::detail::wire::Op::shutdown) h.op = shmq::detail::wire::Op::ping;
      h.client_id = 1000000 + rng() % 4;  // no reply queue: answered nowhere
      h.request_id = i;
      h.flags = static_cast<std::uint8_t>(rng() % 2);
      h.epoch = 1;
      shmq::detail::wire::put_header(h, frame.data());
    }
    ASSERT_EQ(requests.put(frame), shmq::Status::ok);
  }
  EXPECT_EQ(d.get("k"), 1);  // still serving, nothing changed
  d.set("k", 2);
  EXPECT_EQ(d.get("k"), 2);
  auto seg = shmq::detail::Segment::open(name.str(), shmq::detail::SegmentKind::manager);
  const auto& ctl = *reinterpret_cast<const shmq::detail::ManagerControl*>(
      seg.base() + shmq::detail::kBodyOffset);
  EXPECT_GT(ctl.malformed.load(std::memory_order_relaxed), 100U);
}

TEST(ManagerServer, OpeningAManagerThatDoesNotExistIsAClearError) {
  ScopedManagerName name("mgr-none");
  try {
    Manager::open(name, fast_options());
    FAIL();
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), make_error_code(shmq::Errc::not_found)) << e.what();
  }
}

TEST(ManagerServer, ShutdownRemovesEveryNameAndLaterCallsSayShutDown) {
  ScopedManagerName name("mgr-shutdown");
  auto m = Manager::create(name, fast_options());
  auto d = m.dict<std::string, int>("d");
  auto q = m.queue<int>("jobs");
  ASSERT_EQ(q.put(1), shmq::Status::ok);
  d.set("a", 1);
  m.shutdown();
  try {
    d.set("a", 2);
    FAIL();
  } catch (const shmq::Error& e) {
    EXPECT_EQ(e.code(), std::make_error_code(std::errc::not_connected)) << e.what();
  }
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
    const std::string file = entry.path().filename();
    if (file.rfind(name.str(), 0) == 0) left.push_back(file);
  }
  EXPECT_TRUE(left.empty()) << left.front();
}

// exit_with_parent (the default): when the process that created the Manager dies, its server
// shuts down by itself, cleanly: it ends, and no name of the Manager is left.
TEST(ManagerServer, TheServerShutsDownWhenItsCreatorDies) {
  ScopedManagerName name("mgr-orphan");
  Child creator([&]() -> int {
    auto m = Manager::create(name, fast_options());
    shmq::test::report_ready(static_cast<std::uint64_t>(m.server_pid()));
    for (;;)
      ::pause();
  });
  std::uint64_t server = 0;
  ASSERT_TRUE(creator.wait_ready(&server));
  const auto pid = static_cast<pid_t>(server);
  ASSERT_GT(pid, 0);
  creator.kill(SIGKILL);
  ASSERT_EQ(creator.wait(), 128 + SIGKILL);
  // Re-parented, the server is reaped by someone else (or stays a zombie): it has ended either way.
  EXPECT_TRUE(shmq::test::wait_until(
      [&] { return ::kill(pid, 0) != 0 || shmq::test::process_state(pid) == 'Z'; },
      std::chrono::seconds(30)))
      << "the server outlived its creator";
  auto left = [&] {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator("/dev/shm")) {
      const std::string file = entry.path().filename();
      if (file.rfind(name.str(), 0) == 0) names.push_back(file);
    }
    return names;
  };
  EXPECT_TRUE(shmq::test::wait_until([&] { return left().empty(); }, std::chrono::seconds(30)))
      << left().front() << " is left";
}

TEST(ManagerServer, CreatingANameThatIsTakenIsRefused) {
  ScopedManagerName name("mgr-taken");
  auto m = Manager::create(name, fast_options());
  EXPECT_THROW(Manager::create(name, fast_options()), shmq::Error);
  EXPECT_TRUE(m.server_alive());
}

TEST(ManagerCodec, NumbersAndTextPrintAsPythonReprDoes) {
  using shmq::repr;
  EXPECT_EQ(repr(22), "22");
  EXPECT_EQ(repr(-7LL), "-7");
  EXPECT_EQ(repr(std::uint8_t{200}), "200");
  EXPECT_EQ(repr(1.0), "1.0");
  EXPECT_EQ(repr(-0.0), "-0.0");
  EXPECT_EQ(repr(0.0001), "0.0001");
  EXPECT_EQ(repr(0.00001), "1e-05");
  EXPECT_EQ(repr(123456789.125), "123456789.125");
  EXPECT_EQ(repr(1e15), "1000000000000000.0");
  EXPECT_EQ(repr(1.2345678901234568e+17), "1.2345678901234568e+17");
  EXPECT_EQ(repr(0.1f), "0.1");
  EXPECT_EQ(repr(std::string("a'b")), "\"a'b\"");
  EXPECT_EQ(repr(std::string("\x01\\")), "'\\x01\\\\'");
  EXPECT_EQ(repr(std::vector<int>{1, 2}), "[1, 2]");
  EXPECT_EQ(repr(std::vector<std::byte>{std::byte{0}, std::byte{'a'}}), "b'\\x00a'");
}

// Python prints a str's printable characters as they are and escapes the others by code point
// (str and bytes shared one escaper but for one test: text let U+0080..U+00FF's UTF-8 through,
// C1 controls included); bytes escape everything from 0x7f on. Expected values: Python 3.11.
TEST(ManagerCodec, TextAndBytesEscapeAsPythonReprDoes) {
  using shmq::repr;
  EXPECT_EQ(repr(std::string("\x7f")), "'\\x7f'");
  EXPECT_EQ(repr(std::string("\xc2\x80")), "'\\x80'");                // U+0080, a C1 control
  EXPECT_EQ(repr(std::string("\xc2\xa0")), "'\\xa0'");                // no-break space (Zs)
  EXPECT_EQ(repr(std::string("\xc2\xad")), "'\\xad'");                // soft hyphen (Cf)
  EXPECT_EQ(repr(std::string("\xe2\x80\xa8")), "'\\u2028'");          // line separator
  EXPECT_EQ(repr(std::string("\xe2\x80\x8b")), "'\\u200b'");          // zero-width space (Cf)
  EXPECT_EQ(repr(std::string("\xf3\xb0\x80\x80")), "'\\U000f0000'");  // private use
  EXPECT_EQ(repr(std::string("caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80")),
            "'caf\xc3\xa9 \xe6\x97\xa5 \xf0\x9f\x98\x80'");  // printable: as it is
  // Not UTF-8 (a Python str cannot hold it): each byte as \xNN, the text around it kept.
  EXPECT_EQ(repr(std::string("a\xff\xc3(\xe2\x82")), "'a\\xff\\xc3(\\xe2\\x82'");
  EXPECT_EQ(repr(std::string("\xc0\xaf\xed\xa0\x80")),
            "'\\xc0\\xaf\\xed\\xa0\\x80'");  // overlong, surrogate
  const std::string b = "\x7f\x80\xc3\xa9'";
  std::vector<std::byte> bytes;
  for (const char c : b)
    bytes.push_back(static_cast<std::byte>(c));
  EXPECT_EQ(repr(bytes), "b\"\\x7f\\x80\\xc3\\xa9'\"");
}

// Found by manager_request_fuzz: a byte other than 0 or 1 decoded into a bool, which is undefined
// behaviour to read (UBSan: "load of value 251, which is not a valid value for type 'bool'").
TEST(ManagerCodec, DecodeRefusesBytesThatAreNotBools) {
  bool b = false;
  EXPECT_TRUE(shmq::Codec<bool>::decode(std::string_view("\x01", 1), b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(shmq::Codec<bool>::decode(std::string_view("\x00", 1), b));
  EXPECT_FALSE(b);
  EXPECT_FALSE(shmq::Codec<bool>::decode(std::string_view("\xfb", 1), b));
  EXPECT_FALSE(shmq::Codec<bool>::decode(std::string_view("\x02", 1), b));
  std::vector<bool> v;
  std::string bytes;
  shmq::Codec<std::vector<bool>>::encode({true, false}, bytes);
  bytes.back() = 7;  // the second element's byte
  EXPECT_FALSE(shmq::Codec<std::vector<bool>>::decode(bytes, v));
}

}  // namespace
