// Fuzz target: the Manager's journal bytes, as a new server reads them at adoption
// (runtime/manager/manager_journal.cpp: Journal::replay into an empty Store, as Server::replay
// does).
//
// The journal file is made from the input: raw bytes (after the magic, or not), or records the
// target writes with their length and CRC — each intact, with a wrong CRC, with a length of 0 or
// over the limit, or cut short (a server killed inside write()). Checks, each a trap:
// - replay hands over exactly the records of the intact prefix, in order, byte for byte, and
//   truncates the file to that prefix (a torn or damaged tail is never applied, never kept);
//   a file without the magic is refused with Errc::corrupt;
// - replay is idempotent: a second server replays the same records and changes nothing;
// - a record appended after the truncation is replayed by the next server, after the others;
// - the Store is deterministic and compaction faithful: two replays build equal Stores, and a
//   journal compacted from one's snapshot replays to the same state.
// SHMQ_FUZZ_TRACE=1 prints each record replayed and whether the Store applied it.
#include <unistd.h>

#include <boost/crc.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "manager_journal.hpp"
#include "manager_store.hpp"
#include "shmq/detail/manager/manager_protocol.hpp"
#include "shmq/detail/segment.hpp"
#include "shmq/error.hpp"

namespace {

namespace wire = shmq::detail::wire;
namespace mgr = shmq::detail::mgr;
using shmq::fuzz::Input;
using wire::Op;
using Records = std::vector<std::pair<Op, std::string>>;

const bool g_trace = std::getenv("SHMQ_FUZZ_TRACE") != nullptr;

constexpr char kMagic[8] = {'S', 'H', 'M', 'Q', 'J', 'N', 'L', '1'};
constexpr std::uint32_t kMaxRecord = static_cast<std::uint32_t>(wire::kMaxMessageBytes) + 1;

void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "manager_journal_fuzz: %s\n", what);
  __builtin_trap();
}

std::uint32_t crc_of(std::string_view bytes) {
  boost::crc_32_type crc;
  crc.process_bytes(bytes.data(), bytes.size());
  return crc.checksum();
}

void put_u32(std::string& out, std::uint32_t v) {
  char b[4];
  std::memcpy(b, &v, 4);
  out.append(b, 4);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// A journal made from the input, and what a correct replay makes of it.
struct Made {
  std::string file;
  Records intact;          // the records of the intact prefix
  std::size_t prefix = 0;  // its bytes, magic included
  bool magic = true;       // the file starts with the magic (or is empty: then it gets one)
};

// Raw: the input's bytes are the file (after the magic if `with_magic`). The expected records are
// found by the same rules as replay's, independently written.
Made raw(Input& in, bool with_magic) {
  Made m;
  if (with_magic) m.file.assign(kMagic, sizeof(kMagic));
  while (!in.empty())
    m.file.push_back(static_cast<char>(in.take<std::uint8_t>()));
  if (m.file.empty()) {
    m.prefix = sizeof(kMagic);  // an empty file gets the magic, and no records
    return m;
  }
  m.magic = m.file.size() >= sizeof(kMagic) && std::memcmp(m.file.data(), kMagic, 8) == 0;
  std::size_t at = sizeof(kMagic);
  while (m.magic && at + 8 <= m.file.size()) {
    std::uint32_t len = 0;
    std::uint32_t crc = 0;
    std::memcpy(&len, m.file.data() + at, 4);
    std::memcpy(&crc, m.file.data() + at + 4, 4);
    if (len == 0 || len > kMaxRecord || m.file.size() - at - 8 < len) break;
    const std::string_view rec = std::string_view(m.file).substr(at + 8, len);
    if (crc_of(rec) != crc) break;
    m.intact.emplace_back(static_cast<Op>(rec[0]), std::string(rec.substr(1)));
    at += 8 + len;
  }
  m.prefix = at;
  return m;
}

// Records: per record an op, a damage byte and a body; the first damaged record ends the intact
// prefix (and a cut one the file).
Made records(Input& in) {
  Made m;
  m.file.assign(kMagic, sizeof(kMagic));
  bool damaged = false;
  while (!in.empty()) {
    const auto op = static_cast<Op>(in.take<std::uint8_t>());
    const auto damage = in.take<std::uint8_t>();
    const std::size_t len = in.take<std::uint8_t>() % 64U;
    std::string body;
    for (std::size_t i = 0; i < len && !in.empty(); ++i)
      body.push_back(static_cast<char>(in.take<std::uint8_t>()));
    std::string payload(1, static_cast<char>(op));
    payload += body;
    std::string rec;
    switch (damage % 16) {
      case 0:  // a wrong CRC
        put_u32(rec, static_cast<std::uint32_t>(payload.size()));
        put_u32(rec, crc_of(payload) ^ (1U + damage));
        rec += payload;
        break;
      case 1:  // a length of 0, or over the limit
        put_u32(rec, (damage & 0x10) ? kMaxRecord + 1 : 0);
        put_u32(rec, crc_of(payload));
        rec += payload;
        break;
      case 2: {  // cut short: the last thing in the file
        put_u32(rec, static_cast<std::uint32_t>(payload.size()));
        put_u32(rec, crc_of(payload));
        rec += payload;
        rec.resize(damage % (rec.size()));
        m.file += rec;
        if (!damaged) m.prefix = m.file.size() - rec.size();
        return m;
      }
      default:
        put_u32(rec, static_cast<std::uint32_t>(payload.size()));
        put_u32(rec, crc_of(payload));
        rec += payload;
        if (!damaged) m.intact.emplace_back(op, body);
        break;
    }
    if (damage % 16 <= 1 && !damaged) {
      damaged = true;
      m.prefix = m.file.size();
    }
    m.file += rec;
  }
  if (!damaged) m.prefix = m.file.size();
  return m;
}

// A new server's adoption: replay `path` into `store`; returns the records it was handed.
Records adopt(const std::string& path, mgr::Store& store, mgr::Journal* keep = nullptr) {
  mgr::Journal journal(path, false, 0600);
  Records got;
  const std::uint64_t n = journal.replay([&](Op op, std::string_view body) {
    got.emplace_back(op, std::string(body));
    mgr::Effects fx;
    store.apply(mgr::Caller{}, op, body, fx);
    if (g_trace) {
      std::fprintf(stderr, "replay: op %d, %zu bytes: %s\n", static_cast<int>(op), body.size(),
                   fx.replies.empty()                     ? "no reply"
                   : fx.replies[0].code == wire::Code::ok ? "ok"
                                                          : "refused");
    }
  });
  expect(n == got.size(), "replay's count is not the records it handed over");
  if (keep != nullptr) *keep = std::move(journal);
  return got;
}

Records snapshot_of(const mgr::Store& s) {
  Records out;
  s.snapshot([&](Op op, std::string_view body) { out.emplace_back(op, std::string(body)); });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  const auto mode = in.take<std::uint8_t>();
  const Made m = (mode & 1) ? raw(in, (mode & 2) != 0) : records(in);
  const std::string path = shmq::detail::segment_path(shmq::fuzz::fuzz_name("journal"));
  ::unlink(path.c_str());
  write_file(path, m.file);

  mgr::Store first;
  mgr::Journal journal;
  try {
    const Records got = adopt(path, first, &journal);
    expect(m.magic, "a journal without the magic was replayed");
    expect(got == m.intact, "replay handed over other records than the intact prefix");
  } catch (const shmq::Error& e) {
    expect(!m.magic, "a journal with the magic was refused");
    expect(e.code() == shmq::make_error_code(shmq::Errc::corrupt), "bad magic: not Errc::corrupt");
    ::unlink(path.c_str());
    return 0;
  }
  const std::string after = read_file(path);
  const std::string expected_file =
      m.file.empty() ? std::string(kMagic, sizeof(kMagic)) : m.file.substr(0, m.prefix);
  expect(after == expected_file, "replay left another file than the intact prefix");

  // A second server replays the same, and changes nothing.
  mgr::Store second;
  expect(adopt(path, second) == m.intact, "a second replay handed over other records");
  expect(read_file(path) == after, "a second replay changed the file");
  expect(snapshot_of(first) == snapshot_of(second), "two replays built different Stores");

  // What the first server appends after the truncation, the next one replays.
  const Op extra_op = Op::value_set;
  const std::string extra_body = "fuzz";
  expect(journal.append(extra_op, extra_body), "append failed");
  Records with_extra = m.intact;
  with_extra.emplace_back(extra_op, extra_body);
  mgr::Store third;
  expect(adopt(path, third) == with_extra, "an appended record was not replayed after the rest");

  // Compaction: a journal rebuilt from the last Store's snapshot replays to the same state.
  journal.compact([&](const mgr::Journal::Emit& emit) { third.snapshot(emit); });
  mgr::Store rebuilt;
  (void)adopt(path, rebuilt);
  expect(snapshot_of(rebuilt) == snapshot_of(third),
         "a compacted journal replays to another state");
  ::unlink(path.c_str());
  ::unlink((path + ".tmp").c_str());
  return 0;
}
