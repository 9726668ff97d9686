#include "message.hpp"

#include <time.h>

#include <bit>
#include <cstring>

namespace shmq::stress {

namespace {

// One xxHash64-style round per 8 payload bytes; the tail is zero-padded.
std::uint32_t checksum_of(const char* data, std::size_t n) noexcept {
  std::uint64_t h = 0x27D4'EB2F'1656'67C5ULL ^ n;
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    std::uint64_t w = 0;
    std::memcpy(&w, data + i, 8);
    h = std::rotl(h ^ (w * 0xC2B2'AE3D'27D4'EB4FULL), 31) * 0x9E37'79B1'85EB'CA87ULL;
  }
  if (i < n) {
    std::uint64_t w = 0;
    std::memcpy(&w, data + i, n - i);
    h = std::rotl(h ^ (w * 0xC2B2'AE3D'27D4'EB4FULL), 31) * 0x9E37'79B1'85EB'CA87ULL;
  }
  h ^= h >> 33;
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

}  // namespace

std::string describe_flags(std::uint32_t flags) {
  std::string out;
  const auto add = [&](std::uint32_t bit, const char* what) {
    if ((flags & bit) == 0) return;
    if (!out.empty()) out += ",";
    out += what;
  };
  add(kShort, "short");
  add(kBadMagic, "magic");
  add(kBadLength, "length");
  add(kBadChecksum, "checksum");
  add(kBadPayload, "payload");
  add(kLibraryCorrupt, "status-corrupt");
  return out.empty() ? "ok" : out;
}

std::uint64_t MessageFactory::stream_seed(std::uint32_t producer,
                                          std::uint64_t seq) const noexcept {
  std::uint64_t s = seed_ ^ (std::uint64_t{producer} << 40) ^ (seq * 0xD6E8'FEB8'6659'FD93ULL);
  return splitmix64(s);
}

std::uint32_t MessageFactory::length_of(std::uint32_t producer, std::uint64_t seq) const noexcept {
  if (size_min_ >= size_max_) return size_min_;
  std::uint64_t s = stream_seed(producer, seq) ^ 0x5A5A'5A5A'5A5A'5A5AULL;
  const std::uint64_t span = std::uint64_t{size_max_} - size_min_ + 1;
  return size_min_ + static_cast<std::uint32_t>(splitmix64(s) % span);
}

void MessageFactory::build(std::string& out, std::uint32_t producer, std::uint64_t seq,
                           std::uint64_t put_ns) const {
  const std::uint32_t length = length_of(producer, seq);
  out.resize(length);
  char* p = out.data();
  std::uint64_t state = stream_seed(producer, seq);
  for (std::uint32_t i = kHeaderSize; i < length; i += 8) {
    const std::uint64_t w = splitmix64(state);
    std::memcpy(p + i, &w, length - i < 8 ? length - i : 8);
  }
  MessageHeader h;
  h.magic = kMessageMagic;
  h.producer = producer;
  h.seq = seq;
  h.length = length;
  h.checksum = checksum_of(p + kHeaderSize, length - kHeaderSize);
  h.put_ns = put_ns;
  std::memcpy(p, &h, sizeof h);
}

std::uint32_t MessageFactory::verify(std::string_view msg, MessageHeader& header) const noexcept {
  if (msg.size() < kHeaderSize) return kShort;
  std::memcpy(&header, msg.data(), sizeof header);
  std::uint32_t flags = 0;
  if (header.magic != kMessageMagic) flags |= kBadMagic;
  if (header.length != msg.size() || header.length != length_of(header.producer, header.seq)) {
    flags |= kBadLength;
  }
  const char* payload = msg.data() + kHeaderSize;
  const std::size_t n = msg.size() - kHeaderSize;
  if (checksum_of(payload, n) != header.checksum) flags |= kBadChecksum;
  std::uint64_t state = stream_seed(header.producer, header.seq);
  for (std::size_t i = 0; i < n; i += 8) {
    const std::uint64_t w = splitmix64(state);
    if (std::memcmp(payload + i, &w, n - i < 8 ? n - i : 8) != 0) {
      flags |= kBadPayload;
      break;
    }
  }
  return flags;
}

std::uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
         static_cast<std::uint64_t>(ts.tv_nsec);
}

}  // namespace shmq::stress
