// Queue<T> of a user's type through shmq::Codec<T> (issue 13, item 5: one codec concept for the
// Manager and the Queue): a struct with strings travels without hand serialisation, its name is
// recorded so that another codable type cannot open the queue, a raw byte handle sees the
// encoding, and bytes that do not decode are Status::corrupt, not a crash.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "shmq/codec.hpp"
#include "shmq/queue.hpp"
#include "support/queue_test_util.hpp"
#include "support/test_support.hpp"

namespace codec_test {

struct Reading {
  std::string sensor;
  std::vector<double> samples;
  bool operator==(const Reading&) const = default;
};

struct Label {
  std::string text;
};

// Decoding "throw" throws: a user's Codec may (bad input, bad_alloc).
struct Picky {
  std::string text;
};

}  // namespace codec_test

template <>
struct shmq::Codec<codec_test::Reading> {
  static void encode(const codec_test::Reading& v, std::string& out) {
    shmq::encode_field(v.sensor, out);
    shmq::encode_field(v.samples, out);
  }
  static bool decode(std::string_view in, codec_test::Reading& v) {
    return shmq::decode_field(in, v.sensor) && shmq::decode_field(in, v.samples) && in.empty();
  }
  static void repr(const codec_test::Reading& v, std::string& out) { out += shmq::repr(v.sensor); }
};

template <>
struct shmq::Codec<codec_test::Label> {
  static void encode(const codec_test::Label& v, std::string& out) { out += v.text; }
  static bool decode(std::string_view in, codec_test::Label& v) {
    v.text = in;
    return true;
  }
  static void repr(const codec_test::Label& v, std::string& out) { out += shmq::repr(v.text); }
};

template <>
struct shmq::Codec<codec_test::Picky> {
  static void encode(const codec_test::Picky& v, std::string& out) { out += v.text; }
  static bool decode(std::string_view in, codec_test::Picky& v) {
    if (in == "throw") throw std::runtime_error("picky");
    v.text = in;
    return true;
  }
  static void repr(const codec_test::Picky& v, std::string& out) { out += shmq::repr(v.text); }
};

namespace {

using codec_test::Label;
using codec_test::Picky;
using codec_test::Reading;
using shmq::Errc;
using shmq::Queue;
using shmq::Status;
using shmq::test::expect_error;
using shmq::test::ScopedName;

TEST(QueueCodec, AStructWithStringsTravelsThroughItsCodec) {
  ScopedName name("codec-reading");
  auto q = Queue<Reading>::create(name.str(), {.capacity = 8});
  const Reading a{"boiler", {1.5, -2.25, 1e300}};
  const Reading b{"", {}};
  ASSERT_EQ(q.try_put(a), Status::ok);
  ASSERT_EQ(q.put(b), Status::ok);
  std::size_t put = 0;
  const std::vector<Reading> batch{{"x", {1.0}}, {"yy", {2.0, 3.0}}};
  ASSERT_EQ(q.try_put_many(batch, put), Status::ok);
  EXPECT_EQ(put, 2U);

  auto other = Queue<Reading>::open(name.str());
  Reading got;
  ASSERT_EQ(other.try_get(got), Status::ok);
  EXPECT_EQ(got, a);
  ASSERT_EQ(other.get(got), Status::ok);
  EXPECT_EQ(got, b);
  std::vector<Reading> out(4);
  std::size_t n = 0;
  ASSERT_EQ(other.try_get_many(out, n), Status::ok);
  ASSERT_EQ(n, 2U);
  EXPECT_EQ(out[0], batch[0]);
  EXPECT_EQ(out[1], batch[1]);
}

TEST(QueueCodec, AnEncodingLargerThanMaxMessageIsTooLargeAndNothingIsPut) {
  ScopedName name("codec-large");
  auto q = Queue<Reading>::create(name.str(), {.capacity = 4, .max_message = 64});
  const Reading big{"s", std::vector<double>(16, 1.0)};  // 4 + 1 + 4 + 4 + 16 × (4 + 8) bytes
  EXPECT_EQ(q.try_put(big), Status::too_large);
  EXPECT_EQ(q.size(), 0U);
  EXPECT_EQ(q.try_put(Reading{"s", {1.0}}), Status::ok);
}

TEST(QueueCodec, AnotherCodableTypeCannotOpenTheQueueButARawByteHandleCan) {
  ScopedName name("codec-types");
  auto q = Queue<Reading>::create(name.str(), {.capacity = 4});
  expect_error([&] { (void)Queue<Label>::open(name.str()); }, Errc::type_mismatch, name.str(),
               "opened as <codec_test::Label>");
  ASSERT_EQ(q.try_put(Reading{"t", {}}), Status::ok);
  auto raw = Queue<std::string>::open(name.str());
  std::string bytes;
  ASSERT_EQ(raw.try_get(bytes), Status::ok);
  std::string expected;
  shmq::Codec<Reading>::encode(Reading{"t", {}}, expected);
  EXPECT_EQ(bytes, expected) << "a byte handle sees the encoding";
}

TEST(QueueCodec, BytesThatDoNotDecodeAreCorruptAndTheNextMessageStillArrives) {
  ScopedName name("codec-corrupt");
  auto q = Queue<Reading>::create(name.str(), {.capacity = 4});
  auto raw = Queue<std::string>::open(name.str());
  ASSERT_EQ(raw.try_put(std::string("\xff\xff\xff\x7f", 4)), Status::ok);  // a length past the end
  ASSERT_EQ(q.try_put(Reading{"ok", {4.0}}), Status::ok);
  Reading got;
  EXPECT_EQ(q.try_get(got), Status::corrupt);
  ASSERT_EQ(q.try_get(got), Status::ok);
  EXPECT_EQ(got, (Reading{"ok", {4.0}}));
}

// A decode that throws has taken its message: the exception reaches the caller, the slot is
// freed, and the next message arrives (the ring does not stop behind the taken slot).
TEST(QueueCodec, ADecodeThatThrowsFreesItsSlotAndTheNextMessageArrives) {
  ScopedName name("codec-throw");
  auto q = Queue<Picky>::create(
      name.str(),
      {.capacity = 2, .producers = shmq::Producers::one, .consumers = shmq::Consumers::one});
  ASSERT_EQ(q.try_put(Picky{"throw"}), Status::ok);
  ASSERT_EQ(q.try_put(Picky{"fine"}), Status::ok);
  Picky got;
  EXPECT_THROW((void)q.try_get(got), std::runtime_error);
  ASSERT_EQ(q.try_get(got), Status::ok);
  EXPECT_EQ(got.text, "fine");
  EXPECT_EQ(q.try_put(Picky{"a"}), Status::ok) << "both slots are free again";
  EXPECT_EQ(q.try_put(Picky{"b"}), Status::ok);
}

}  // namespace
