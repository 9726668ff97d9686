// The messages shmq-stress sends: a 32-byte header, then payload bytes that are a pure function
// of (run seed, producer id, sequence number), so a consumer can tell a damaged message from a
// good one without any shared state.
//
//   offset  0  u32 magic       kMessageMagic
//           4  u32 producer    id of the producer incarnation (unique per run, never reused)
//           8  u64 seq         0, 1, 2, ... per producer incarnation
//          16  u32 length      bytes of the whole message, header included
//          20  u32 checksum    of the payload bytes (offset 32 .. length)
//          24  u64 put_ns      CLOCK_MONOTONIC just before put() was called
//          32  payload         expected_payload(seed, producer, seq), length - 32 bytes
//
// The length itself is also a function of (seed, producer, seq) within [size_min, size_max].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shmq::stress {

inline constexpr std::uint32_t kMessageMagic = 0x5153'4d53;  // "SMQS" read little-endian
inline constexpr std::uint32_t kHeaderSize = 32;

struct MessageHeader {
  std::uint32_t magic = 0;
  std::uint32_t producer = 0;
  std::uint64_t seq = 0;
  std::uint32_t length = 0;
  std::uint32_t checksum = 0;
  std::uint64_t put_ns = 0;
};
static_assert(sizeof(MessageHeader) == kHeaderSize, "the wire header is 32 bytes, no padding");

// What verify() found wrong; 0 = a good message.
enum VerifyFlag : std::uint32_t {
  kShort = 1U << 0,           // fewer bytes than a header
  kBadMagic = 1U << 1,        // header magic
  kBadLength = 1U << 2,       // header length != bytes received, or != the length (id, seq) implies
  kBadChecksum = 1U << 3,     // payload does not match the header's checksum
  kBadPayload = 1U << 4,      // payload is not the bytes (seed, id, seq) imply
  kLibraryCorrupt = 1U << 5,  // get() itself returned Status::corrupt (nothing was read)
};
// A damaged header: its producer and seq cannot be trusted.
inline constexpr std::uint32_t kHeaderFlags = kShort | kBadMagic | kBadLength | kLibraryCorrupt;

std::string describe_flags(std::uint32_t flags);

// --kind packed: each message travels in one fixed-size element of a packed SPSC queue.
inline constexpr std::uint32_t kPackedMessageMax = 124;
struct PackedRecord {
  std::uint32_t length = 0;  // message bytes in `bytes`
  char bytes[kPackedMessageMax] = {};
};
static_assert(sizeof(PackedRecord) == 128);

class MessageFactory {
 public:
  MessageFactory(std::uint64_t seed, std::uint32_t size_min, std::uint32_t size_max) noexcept
      : seed_(seed), size_min_(size_min), size_max_(size_max) {}

  std::uint32_t length_of(std::uint32_t producer, std::uint64_t seq) const noexcept;
  // Writes the whole message of (producer, seq) into `out` (reusing its storage).
  void build(std::string& out, std::uint32_t producer, std::uint64_t seq,
             std::uint64_t put_ns) const;
  // Checks every byte of `msg`; fills `header` with what the header says (when there is one).
  std::uint32_t verify(std::string_view msg, MessageHeader& header) const noexcept;

 private:
  std::uint64_t stream_seed(std::uint32_t producer, std::uint64_t seq) const noexcept;

  std::uint64_t seed_;
  std::uint32_t size_min_;
  std::uint32_t size_max_;
};

// CLOCK_MONOTONIC in nanoseconds: one clock for every process of the run.
std::uint64_t monotonic_ns() noexcept;

// SplitMix64 (Steele, Lea, Flood 2014): the run's one source of pseudo-randomness.
constexpr std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E37'79B9'7F4A'7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBULL;
  return z ^ (z >> 31);
}

}  // namespace shmq::stress
