// Fuzz target: the Manager's request path on arbitrary bytes, and round trips through its codecs.
//
// dispatch_frame() (runtime/manager/manager_server.hpp) is what the server runs on every frame it
// takes from N.req: the frame header, the reassembly of multi-frame requests, the epoch check,
// ping, shutdown and cancel, and the Store's decoding and application of the request. Here it runs
// on a real Store inside a fake server (FakeServer) that records the replies and journals into a
// replica Store. Frames are raw fuzzer bytes, or requests built the way clients build them — with
// fuzzer-chosen ops, objects, kinds and arguments, sometimes cut short or padded, sometimes split
// in frames or left unfinished — so that both the refusals and the deep paths of every object are
// reached. Checked, besides the absence of crashes, out-of-bounds reads (ASan) and UB (UBSan):
// - every reply goes to an admitted client and is well formed: a known Code; an error reply's
//   body is one message field; an immediate reply's body has the shape its op promises (what
//   the client's decoders accept); stale_epoch answers exactly the requests of another epoch;
// - a client the fake server has no room for is refused once per request, at its last frame;
// - each request gets exactly one reply, now or later (a grant, a cancel, a broken barrier, or
//   the shutdown's fail_all_waiters at the end), unless its client was dropped as dead;
// - the journal is faithful: a replica that applies only the journaled requests, as a new server
//   replays them, ends with the same snapshot, and so does a Store rebuilt from that snapshot;
// - round trips: values of many Codec<T> types, encoded, sent in a request (split in frames),
//   read back by another request and decoded, compare equal; Codec<T>::decode of arbitrary bytes
//   is defined behaviour and what it accepts encodes back to the same bytes; frame headers and
//   body fields written by put_header / Writer read back equal.
//
// Input: a sequence of steps, each an op byte and its arguments (see Session::run).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz_support.hpp"
#include "manager_server.hpp"
#include "manager_store.hpp"
#include "shmq/codec.hpp"
#include "shmq/detail/manager/manager_protocol.hpp"

namespace {

namespace wire = shmq::detail::wire;
namespace mgr = shmq::detail::mgr;
using shmq::Codec;
using shmq::fuzz::Input;
using wire::Code;
using wire::ObjectKind;
using wire::Op;

constexpr std::uint32_t kEpoch = 7;            // the fake server's epoch
constexpr std::size_t kMaxClients = 8;         // the fake server admits this many
constexpr std::uint64_t kRoundTripClient = 9;  // the client the round trips use

int g_step = 0;
// SHMQ_FUZZ_TRACE=1 prints every reply (to follow a reproducer).
const bool g_trace = std::getenv("SHMQ_FUZZ_TRACE") != nullptr;

void expect(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "manager_request_fuzz: step %d: %s\n", g_step, what);
  __builtin_trap();
}

using Key = std::pair<std::uint64_t, std::uint64_t>;  // (client, request)

struct Sent {
  std::uint64_t client = 0;
  std::uint64_t request = 0;
  Code code = Code::ok;
  std::string body;
};

// The server around dispatch_frame(): admits up to kMaxClients, records replies, and applies
// every journaled request to a replica, as a new server replays the journal.
class FakeServer final : public shmq::detail::RequestSink {
 public:
  shmq::detail::PartialRequest* admit(std::uint64_t client, std::uint64_t) override {
    auto it = clients.find(client);
    if (it == clients.end()) {
      if (clients.size() >= kMaxClients) return nullptr;
      it = clients.emplace(client, shmq::detail::PartialRequest{}).first;
    }
    return &it->second;
  }
  void refuse(std::uint64_t client, std::uint64_t) override {
    expect(clients.count(client) == 0 && clients.size() >= kMaxClients,
           "a refusal of a client that has room");
    ++refused_count;
  }
  void reply(std::uint64_t client, std::uint64_t request, Code code,
             std::string_view body) override {
    expect(clients.count(client) != 0, "a reply to a client the server does not know");
    if (g_trace) {
      std::fprintf(stderr, "step %d: reply to client %llu request %llu: code %d, %zu bytes\n",
                   g_step, static_cast<unsigned long long>(client),
                   static_cast<unsigned long long>(request), static_cast<int>(code), body.size());
    }
    sent.push_back({client, request, code, std::string(body)});
  }
  void journal(Op op, std::string_view body) override {
    mgr::Effects fx;
    replica.apply(mgr::Caller{}, op, body, fx);
    // What changed the Store live applies the same way in the replay.
    expect(fx.replies.size() == 1 && fx.replies[0].code == Code::ok,
           "a journaled request does not apply in the replay");
  }
  void changed() override {}
  void malformed() override { ++malformed_count; }
  void applied() override { ++applied_count; }
  void stop() override { stopped = true; }

  std::map<std::uint64_t, shmq::detail::PartialRequest> clients;
  std::vector<Sent> sent;  // replies of the current call
  mgr::Store replica;
  std::uint64_t malformed_count = 0;
  std::uint64_t applied_count = 0;
  std::uint64_t refused_count = 0;
  bool stopped = false;
};

using Snapshot = std::vector<std::pair<Op, std::string>>;

Snapshot snapshot_of(const mgr::Store& s) {
  Snapshot out;
  s.snapshot([&](Op op, std::string_view body) { out.emplace_back(op, std::string(body)); });
  return out;
}

// ---- reply shapes: what the client's decoders accept ----

bool done_after_bytes(wire::Reader& in) {
  (void)in.bytes();
  return in.done();
}

// The body of an immediate reply to a request `op` with `code`.
bool reply_shape_ok(Op op, Code code, std::string_view body) {
  wire::Reader in(body);
  switch (code) {
    case Code::malformed:
    case Code::not_found:
    case Code::wrong_kind:
    case Code::type_mismatch:
    case Code::too_large:
      return done_after_bytes(in);  // the message
    case Code::absent:
      return op == Op::value_cas ? done_after_bytes(in) : body.empty();
    case Code::ok:
      break;
    default:
      return body.empty();
  }
  switch (op) {
    case Op::dict_get:
    case Op::dict_pop:
    case Op::dict_setdefault:
    case Op::list_get:
    case Op::list_pop:
    case Op::value_get:
      return done_after_bytes(in);
    case Op::dict_size:
    case Op::list_size:
    case Op::cond_notify:
    case Op::barrier_wait:
      (void)in.u64();
      return in.done();
    case Op::sem_value:
      (void)in.i64();
      return in.done();
    case Op::barrier_state:
      (void)in.u64();
      (void)in.u64();
      (void)in.u8();
      return in.done();
    case Op::dict_items: {
      const std::uint64_t n = in.count(8);
      for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
        (void)in.bytes();
        (void)in.bytes();
      }
      return in.done();
    }
    case Op::list_items: {
      const std::uint64_t n = in.count(4);
      for (std::uint64_t i = 0; i < n && in.ok(); ++i)
        (void)in.bytes();
      return in.done();
    }
    default:
      return body.empty();
  }
}

// ---- values for the codecs ----

struct Point {  // any other trivially copyable type: its bytes, repr in hex
  std::int32_t x;
  std::int32_t y;
};

std::string blob(Input& in, std::size_t max = 24) {
  const std::size_t n = in.take<std::uint8_t>() % (max + 1);
  std::string s(n, '\0');
  for (auto& c : s)
    c = static_cast<char>(in.take<std::uint8_t>());
  return s;
}

template <class T>
struct Gen {
  static T make(Input& in) {
    if constexpr (std::is_same_v<T, bool>) {
      return (in.take<std::uint8_t>() & 1) != 0;
    } else {
      return in.take<T>();  // any bits: NaNs and infinities included
    }
  }
};
template <>
struct Gen<std::string> {
  static std::string make(Input& in) { return blob(in); }
};
template <>
struct Gen<std::vector<std::byte>> {
  static std::vector<std::byte> make(Input& in) {
    const std::string s = blob(in);
    std::vector<std::byte> v(s.size());
    if (!s.empty()) std::memcpy(v.data(), s.data(), s.size());
    return v;
  }
};
template <class T>
struct Gen<std::vector<T>> {
  static std::vector<T> make(Input& in) {
    std::vector<T> v(in.take<std::uint8_t>() % 5);
    for (std::size_t i = 0; i < v.size(); ++i)
      v[i] = Gen<T>::make(in);  // (not a range-for: std::vector<bool>)
    return v;
  }
};

// Equality that tells NaNs and signed zeros apart by their bits (what a round trip keeps).
template <class T>
bool same(const T& a, const T& b) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::memcmp(&a, &b, sizeof(T)) == 0;
  } else if constexpr (std::is_same_v<T, Point>) {
    return a.x == b.x && a.y == b.y;
  } else {
    return a == b;
  }
}
template <class T>
bool same(const std::vector<T>& a, const std::vector<T>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!same(a[i], b[i])) return false;
  }
  return true;
}

template <class T>
std::string encoded(const T& v) {
  std::string out;
  Codec<T>::encode(v, out);
  return out;
}

// encode/decode/encode, fields, repr; decode of arbitrary bytes.
template <class T>
void codec_round_trip(Input& in) {
  const T v = Gen<T>::make(in);
  const std::string bytes = encoded(v);
  T back{};
  expect(Codec<T>::decode(bytes, back), "Codec::decode refused what encode wrote");
  expect(same(v, back), "Codec round trip: another value");
  expect(encoded(back) == bytes, "Codec round trip: other bytes");
  std::string two;
  shmq::encode_field(v, two);
  shmq::encode_field(back, two);
  std::string_view rest = two;
  T a{};
  T b{};
  expect(shmq::decode_field(rest, a) && shmq::decode_field(rest, b) && rest.empty(),
         "decode_field refused what encode_field wrote");
  expect(same(a, v) && same(b, v), "field round trip: another value");
  (void)shmq::repr(v);

  const std::string raw = blob(in, 40);
  T x{};
  if (Codec<T>::decode(raw, x)) {
    expect(encoded(x) == raw, "Codec::decode accepted bytes that do not encode back");
    (void)shmq::repr(x);
  }
}

template <class F>
void with_codec_type(std::uint8_t which, F&& f) {
  switch (which % 14) {
    case 0:
      return f(std::string{});
    case 1:
      return f(std::vector<std::byte>{});
    case 2:
      return f(std::int32_t{});
    case 3:
      return f(std::uint64_t{});
    case 4:
      return f(double{});
    case 5:
      return f(float{});
    case 6:
      return f(bool{});
    case 7:
      return f(char{});
    case 8:
      return f(Point{});
    case 9:
      return f(std::vector<std::string>{});
    case 10:
      return f(std::vector<std::int64_t>{});
    case 11:
      return f(std::vector<double>{});
    case 12:
      return f(std::vector<std::vector<std::string>>{});
    default:
      return f(std::vector<bool>{});
  }
}

// ---- requests as clients build them ----

struct Object {
  const char* name;
  ObjectKind kind;
};
constexpr Object kObjects[] = {
    {"d", ObjectKind::dict},    {"l", ObjectKind::list},    {"v", ObjectKind::value},
    {"k", ObjectKind::lock},    {"r", ObjectKind::rlock},   {"s", ObjectKind::semaphore},
    {"e", ObjectKind::event},   {"b", ObjectKind::barrier}, {"c", ObjectKind::condition},
    {"q.x", ObjectKind::queue},
};

constexpr Op kOps[] = {
    Op::attach,          Op::ping,          Op::dict_get,      Op::dict_set,      Op::dict_erase,
    Op::dict_contains,   Op::dict_size,     Op::dict_items,    Op::dict_update,   Op::dict_clear,
    Op::dict_setdefault, Op::dict_pop,      Op::list_append,   Op::list_extend,   Op::list_get,
    Op::list_set,        Op::list_insert,   Op::list_pop,      Op::list_size,     Op::list_items,
    Op::list_clear,      Op::list_remove,   Op::value_get,     Op::value_set,     Op::value_cas,
    Op::lock_acquire,    Op::lock_release,  Op::lock_locked,   Op::sem_acquire,   Op::sem_release,
    Op::sem_value,       Op::event_set,     Op::event_clear,   Op::event_is_set,  Op::event_wait,
    Op::barrier_wait,    Op::barrier_reset, Op::barrier_abort, Op::barrier_state, Op::cond_wait,
    Op::cond_notify,     Op::shutdown,
};

// The object an op is naturally sent to.
std::size_t object_for(Op op) {
  const auto v = static_cast<std::uint8_t>(op);
  if (v >= 16 && v < 32) return 0;
  if (v >= 32 && v < 48) return 1;
  if (v >= 48 && v < 64) return 2;
  if (v >= 64 && v < 72) return 3;
  if (v >= 72 && v < 80) return 5;
  if (v >= 80 && v < 88) return 6;
  if (v >= 88 && v < 96) return 7;
  return 8;
}

class Session {
 public:
  explicit Session(Input& in) : in_(in) {}

  void run() {
    for (g_step = 0; g_step < 400 && !in_.empty(); ++g_step) {
      const auto op = in_.take<std::uint8_t>();
      switch (op % 16) {
        case 0:
          raw_frame();
          break;
        case 1:
          bent_header(op);
          break;
        case 2:
        case 3:
        case 4:
        case 5:
        case 6:
          request(op, false);
          break;
        case 7:
          request(op, true);  // unfinished: its first frames only
          break;
        case 8:
          cancel();
          break;
        case 9:
          drop_client();
          break;
        case 10:
        case 11:
          with_codec_type(in_.take<std::uint8_t>(), [&](auto t) { store_round_trip(t); });
          break;
        case 12:
          with_codec_type(in_.take<std::uint8_t>(),
                          [&](auto t) { codec_round_trip<decltype(t)>(in_); });
          break;
        case 13:
          wire_round_trip();
          break;
        case 14:
          attach(op);
          break;
        default:
          request(op, false);
          break;
      }
    }
    finish();
  }

 private:
  // Clients 1..5; raw frames bring others, until the fake server refuses more.
  static std::uint64_t client_of(std::uint8_t b) { return 1 + (b & 7) % 5; }

  // ---- dispatch and the reply checks ----

  // Feeds one frame to dispatch_frame() and checks what it sent; returns the replies.
  std::vector<Sent> dispatch(std::string_view frame) {
    // What the frame should do, from the header and the client's reassembly state.
    wire::FrameHeader h;
    bool executes = false;
    bool admitted = false;
    Op op = Op::ping;
    std::uint32_t epoch = 0;
    const bool header_ok = wire::get_header(frame, h) && h.client_id != 0 && h.op != Op::reply;
    if (header_ok) {
      const auto it = server_.clients.find(h.client_id);
      admitted = it != server_.clients.end() || server_.clients.size() < kMaxClients;
      shmq::detail::PartialRequest p;
      if (it != server_.clients.end()) p = it->second;
      if (p.active && p.request != h.request_id) p.active = false;  // dropped
      if (admitted && (h.flags & wire::kFrameMore) == 0) {
        executes = true;
        op = p.active ? p.op : h.op;
        epoch = p.active ? p.epoch : h.epoch;
      }
    }
    // A client the server has no room for is refused once per request (its last frame).
    const bool refused =
        header_ok && !admitted && (h.flags & wire::kFrameMore) == 0 && h.op != Op::cancel;
    const Key key{h.client_id, h.request_id};
    if (executes && op != Op::cancel) ++tracks_[key].requests;

    server_.sent.clear();
    const std::uint64_t applied_before = server_.applied_count;
    const std::uint64_t malformed_before = server_.malformed_count;
    const std::uint64_t refused_before = server_.refused_count;
    shmq::detail::dispatch_frame(frame, kEpoch, store_, server_);
    expect(server_.refused_count - refused_before == (refused ? 1U : 0U),
           "a refused request not answered once, or a refusal of an admitted client");
    std::vector<Sent> sent = std::move(server_.sent);

    // The server's counters: a request the Store applied counts once; one it refused as
    // malformed counts as malformed too; a shutdown stops the server.
    const bool to_store =
        executes && epoch == kEpoch && op != Op::cancel && op != Op::ping && op != Op::shutdown;
    expect(server_.applied_count - applied_before == (to_store ? 1U : 0U),
           "the requests counter does not count each applied request once");
    if (executes && epoch == kEpoch && op == Op::shutdown) {
      expect(server_.stopped, "a shutdown request did not stop the server");
    }
    bool answered_now = false;
    for (const Sent& r : sent) {
      check_reply(r);
      if (executes && Key{r.client, r.request} == key && op != Op::cancel) {
        answered_now = true;
        if (r.code == Code::malformed) {
          expect(server_.malformed_count > malformed_before, "a malformed request not counted");
        }
        const Track& t = tracks_[key];
        if (t.requests == 1 && t.replies == 1) {
          expect(reply_shape_ok(op, r.code, r.body), "a reply of the wrong shape for its op");
        }
      } else {
        check_late_reply(r);
      }
      expect((r.code == Code::stale_epoch) ==
                 (executes && epoch != kEpoch && Key{r.client, r.request} == key),
             "stale_epoch for a request of the current epoch, or none for another's");
    }
    if (executes && op != Op::cancel && (epoch != kEpoch || op == Op::ping || op == Op::shutdown)) {
      expect(answered_now, "ping, shutdown or a stale request without an immediate reply");
    }
    return sent;
  }

  // Every reply: a known code, counted against its request.
  void check_reply(const Sent& r) {
    expect(static_cast<std::uint8_t>(r.code) <= static_cast<std::uint8_t>(Code::too_large),
           "a reply with an unknown code");
    ++tracks_[{r.client, r.request}].replies;
  }

  // A reply to a request that waited (a grant, a cancel, a broken barrier, a shutdown): no
  // body, or a barrier's index.
  static void check_late_reply(const Sent& r) {
    expect(r.body.empty() || (r.code == Code::ok && r.body.size() == 8),
           "a late reply with a body other than a barrier's index");
  }

  void deliver(mgr::Effects& fx) {
    for (const mgr::Reply& r : fx.replies)
      server_.reply(r.client, r.request, r.code, r.body);
    for (const Sent& r : server_.sent) {
      check_reply(r);
      check_late_reply(r);
    }
    server_.sent.clear();
  }

  void finish() {
    // The server shuts down: every waiter gets shutting_down.
    mgr::Effects fx;
    store_.fail_all_waiters(Code::shutting_down, fx);
    deliver(fx);
    for (const auto& [key, t] : tracks_) {
      if (dropped_.count(key.first) != 0) continue;
      if (t.requests == 0) expect(t.replies == 0, "a reply to a request nobody made");
      if (t.requests == 1) expect(t.replies == 1, "a request without exactly one reply");
    }
    // The journal replays to the same state; so does the snapshot (compaction).
    const Snapshot live = snapshot_of(store_);
    expect(live == snapshot_of(server_.replica),
           "the journal's replay differs from the live state");
    mgr::Store rebuilt;
    for (const auto& [op, body] : live) {
      mgr::Effects r;
      rebuilt.apply(mgr::Caller{}, op, body, r);
      expect(r.replies.size() == 1 && r.replies[0].code == Code::ok,
             "a snapshot record does not apply");
    }
    expect(snapshot_of(rebuilt) == live, "the snapshot rebuilds another state");
  }

  // ---- frames ----

  std::string frame(const wire::FrameHeader& h, std::string_view body) {
    std::string f(wire::kFrameHeaderBytes, '\0');
    wire::put_header(h, f.data());
    f.append(body);
    return f;
  }

  // Sends `body` as the client does: in frames of at most `room` body bytes, kFrameMore on all
  // but the last; `keep` frames only if unfinished.
  std::vector<Sent> send(wire::FrameHeader h, std::string_view body, std::size_t room,
                         std::size_t keep = ~std::size_t{0}) {
    std::vector<Sent> all;
    std::size_t at = 0;
    std::size_t frames = 0;
    do {
      const std::size_t n = std::min(room, body.size() - at);
      h.flags = at + n < body.size() ? wire::kFrameMore : 0;
      if (frames++ == keep) break;
      auto sent = dispatch(frame(h, body.substr(at, n)));
      all.insert(all.end(), sent.begin(), sent.end());
      at += n;
    } while (at < body.size());
    return all;
  }

  wire::FrameHeader header(Op op, std::uint64_t client) {
    wire::FrameHeader h;
    h.op = op;
    h.epoch = kEpoch;
    h.client_id = client;
    h.request_id = ++next_request_[client % 16];
    h.token = client * 1000;
    return h;
  }

  void raw_frame() {
    const std::size_t n = in_.take<std::uint8_t>();
    std::string f(n, '\0');
    for (auto& c : f)
      c = static_cast<char>(in_.take<std::uint8_t>());
    (void)dispatch(f);
  }

  // A well-built request whose header is then bent: another version, unknown flags, op reply,
  // client 0, a short frame, or an old epoch.
  void bent_header(std::uint8_t op) {
    const auto which = in_.take<std::uint8_t>();
    wire::FrameHeader h = header(kOps[which % std::size(kOps)], client_of(which));
    std::string body = prefix(kObjects[object_for(h.op)]);
    std::string f = frame(h, body);
    switch ((op >> 4) % 6) {
      case 0:
        f[2] = 2;  // version
        break;
      case 1:
        f[1] = static_cast<char>(0x80);  // unknown flag
        break;
      case 2:
        f[0] = 0;  // Op::reply
        break;
      case 3:
        std::memset(f.data() + 8, 0, 8);  // client 0
        break;
      case 4:
        f.resize(wire::kFrameHeaderBytes - 1 - which % 8);  // short
        break;
      default:
        f[4] = static_cast<char>(kEpoch - 1);  // an earlier server's epoch
        break;
    }
    (void)dispatch(f);
  }

  static std::string prefix(const Object& o) {
    std::string body;
    wire::Writer w(body);
    w.bytes(o.name);
    w.u8(static_cast<std::uint8_t>(o.kind));
    return body;
  }

  std::string value() { return blob(in_, 20); }

  // Arguments for `op`, as the client writes them (sometimes slightly off).
  void arguments(Op op, wire::Writer& w) {
    static constexpr std::int64_t kIndexes[] = {0, 1, -1, 2, -3, 100, INT64_MIN, INT64_MAX};
    static constexpr std::uint64_t kCounts[] = {
        0, 1, 2, 3, 1ULL << 32, (1ULL << 32) + 1, UINT64_MAX, 1ULL << 63};
    const auto pick = in_.take<std::uint8_t>();
    switch (op) {
      case Op::attach:
        w.bytes(pick & 0x40 ? "u" : "t");  // tag
        w.u64(kCounts[pick % 8]);          // semaphore value, barrier parties
        w.bytes(value());                  // a value's initial bytes
        break;
      case Op::dict_get:
      case Op::dict_erase:
      case Op::dict_contains:
      case Op::dict_pop:
      case Op::list_append:
      case Op::list_remove:
      case Op::value_set:
        w.bytes(value());
        break;
      case Op::dict_set:
      case Op::dict_setdefault:
      case Op::value_cas:
        w.bytes(value());
        w.bytes(value());
        break;
      case Op::dict_update:
      case Op::list_extend: {
        const std::uint64_t n = pick % 4;
        w.u64(pick & 0x80 ? n + 1 : n);  // sometimes a count one over
        for (std::uint64_t i = 0; i < n; ++i) {
          w.bytes(value());
          if (op == Op::dict_update) w.bytes(value());
        }
        break;
      }
      case Op::list_get:
      case Op::list_pop:
        w.i64(kIndexes[pick % 8]);
        break;
      case Op::list_set:
      case Op::list_insert:
        w.i64(kIndexes[pick % 8]);
        w.bytes(value());
        break;
      case Op::lock_acquire:
      case Op::sem_acquire:
        w.u8(pick & 1);  // blocking
        break;
      case Op::sem_release:
      case Op::cond_notify:
        w.u64(kCounts[pick % 8]);
        break;
      default:
        break;
    }
  }

  // A request as a client sends it, in frames.
  void request(std::uint8_t op_byte, bool unfinished) {
    const auto which = in_.take<std::uint8_t>();
    const auto shape = in_.take<std::uint8_t>();
    const Op op = kOps[which % std::size(kOps)];
    const std::uint64_t client = client_of(shape);
    // The natural object mostly; sometimes another one, or another kind, or a bad name.
    Object o = kObjects[object_for(op)];
    if ((op_byte >> 4) == 0xF) o = kObjects[((shape >> 3) & 15) % std::size(kObjects)];
    if ((op_byte >> 4) == 0xE) o.kind = static_cast<ObjectKind>(shape % 12);
    std::string body;
    if ((op_byte >> 4) == 0xD) {
      wire::Writer(body).bytes(shape & 1 ? std::string(1025, 'n') : std::string());
      wire::Writer(body).u8(static_cast<std::uint8_t>(o.kind));
    } else {
      body = prefix(o);
    }
    wire::Writer w(body);
    arguments(op, w);
    switch ((op_byte >> 4) % 8) {
      case 1:
        if (!body.empty()) body.pop_back();  // one byte short
        break;
      case 2:
        body.push_back('x');  // one byte too many
        break;
      default:
        break;
    }
    wire::FrameHeader h = header(op, client);
    const std::size_t room = shape & 0x80 ? 1 + ((shape >> 3) & 15) : body.size() + 1;
    (void)send(h, body, room, unfinished ? 1 + ((shape >> 3) & 1) : ~std::size_t{0});
  }

  void attach(std::uint8_t op_byte) {
    const auto which = in_.take<std::uint8_t>();
    // which: bits 0-3 the object, 4-5 the client and the parties / permits, 6-7 initial bytes.
    const Object o = kObjects[(which & 15) % std::size(kObjects)];
    const unsigned sel = (which >> 4) & 3;
    std::string body = prefix(o);
    wire::Writer w(body);
    w.bytes(op_byte & 0x40 ? "u" : "t");
    w.u64(o.kind == ObjectKind::barrier || o.kind == ObjectKind::semaphore ? 1 + sel % 3 : 0);
    w.bytes(std::string(which >> 6, 'i'));
    (void)send(header(Op::attach, 1 + sel), body, body.size() + 1);
  }

  void cancel() {
    const auto which = in_.take<std::uint8_t>();
    const std::uint64_t client = client_of(which);
    std::string body;
    const std::uint64_t last = next_request_[client % 16];
    const std::uint64_t back = (which >> 5) & 3;  // 0: the client's last request
    wire::Writer(body).u64(which & 0x80 ? 0 : last - std::min(last, back));
    if (which & 0x10) body.push_back('x');  // malformed
    (void)dispatch(frame(header(Op::cancel, client), body));
  }

  // The server finds a client dead (housekeeping): the Store drops it, the server forgets it.
  void drop_client() {
    const std::uint64_t client = client_of(in_.take<std::uint8_t>());
    server_.clients.erase(client);
    dropped_.insert(client);
    mgr::Effects fx;
    store_.drop_client(client, fx);
    deliver(fx);
  }

  // ---- round trips ----

  // A value of type T stored by one request and read back by another, through the Store.
  template <class T>
  void store_round_trip(T) {
    const T v = Gen<T>::make(in_);
    const auto how = in_.take<std::uint8_t>();
    const std::size_t room = 1 + how % 24;
    const std::string name = "rt" + std::to_string(serial_++);
    const auto kind = how & 0x20 ? ObjectKind::list : ObjectKind::dict;
    const std::string key = blob(in_, 8);
    const Object o{name.c_str(), how & 0x40 ? ObjectKind::value : kind};
    const std::string head = prefix(o);
    auto field = [&](wire::Writer& w) {
      w.field([&](std::string& out) { Codec<T>::encode(v, out); });
    };

    std::string body = head;
    {
      wire::Writer w(body);
      w.bytes("rt");
      w.u64(0);
      if (o.kind == ObjectKind::value) {
        field(w);  // initial
      } else {
        w.bytes({});
      }
    }
    if (!ok(send(header(Op::attach, kRoundTripClient), body, room))) return;

    body = head;
    Op get = Op::value_get;
    {
      wire::Writer w(body);
      switch (o.kind) {
        case ObjectKind::dict:
          w.bytes(key);
          field(w);
          if (!ok(send(header(Op::dict_set, kRoundTripClient), body, room))) return;
          body = head;
          wire::Writer(body).bytes(key);
          get = how & 1 ? Op::dict_pop : Op::dict_get;
          break;
        case ObjectKind::list:
          field(w);
          if (!ok(send(header(Op::list_append, kRoundTripClient), body, room))) return;
          body = head;
          wire::Writer(body).i64(-1);
          get = how & 1 ? Op::list_pop : Op::list_get;
          break;
        default:
          break;  // the initial value
      }
    }
    const auto replies = send(header(get, kRoundTripClient), body, room);
    if (!ok(replies)) return;
    wire::Reader in(replies.back().body);
    const std::string_view bytes = in.bytes();
    expect(in.done(), "round trip: a reply that is not one field");
    T back{};
    expect(Codec<T>::decode(bytes, back), "round trip: the stored value does not decode");
    expect(same(v, back), "round trip: another value came back");
  }

  // Whether the last reply is ok (the client may be refused, or the name taken by a raw frame).
  static bool ok(const std::vector<Sent>& replies) {
    return !replies.empty() && replies.back().code == Code::ok;
  }

  void wire_round_trip() {
    wire::FrameHeader h;
    h.op = static_cast<Op>(in_.take<std::uint8_t>());
    h.flags = in_.take<std::uint8_t>() & wire::kFrameMore;
    h.epoch = in_.take<std::uint32_t>();
    h.client_id = in_.take<std::uint64_t>();
    h.request_id = in_.take<std::uint64_t>();
    h.token = in_.take<std::uint64_t>();
    char buf[wire::kFrameHeaderBytes];
    wire::put_header(h, buf);
    wire::FrameHeader g;
    expect(wire::get_header(std::string_view(buf, sizeof(buf)), g), "get_header refused a header");
    expect(g.op == h.op && g.flags == h.flags && g.version == h.version && g.epoch == h.epoch &&
               g.client_id == h.client_id && g.request_id == h.request_id && g.token == h.token,
           "frame header round trip");

    // Fields: written, then read back as the same types.
    const std::size_t n = in_.take<std::uint8_t>() % 12;
    std::vector<std::pair<int, std::string>> fields;
    std::string body;
    wire::Writer w(body);
    for (std::size_t i = 0; i < n; ++i) {
      const int type = in_.take<std::uint8_t>() % 4;
      std::string v;
      switch (type) {
        case 0:
          v.assign(1, static_cast<char>(in_.take<std::uint8_t>()));
          w.u8(static_cast<std::uint8_t>(v[0]));
          break;
        case 1:
        case 2: {
          const auto x = in_.take<std::uint64_t>();
          v.assign(reinterpret_cast<const char*>(&x), 8);
          if (type == 1) {
            w.u64(x);
          } else {
            w.i64(static_cast<std::int64_t>(x));
          }
          break;
        }
        default:
          v = blob(in_);
          w.bytes(v);
          break;
      }
      fields.emplace_back(type, v);
    }
    wire::Reader r(body);
    for (const auto& [type, v] : fields) {
      std::string got;
      switch (type) {
        case 0:
          got.assign(1, static_cast<char>(r.u8()));
          break;
        case 1:
        case 2: {
          const std::uint64_t x = type == 1 ? r.u64() : static_cast<std::uint64_t>(r.i64());
          got.assign(reinterpret_cast<const char*>(&x), 8);
          break;
        }
        default:
          got = r.bytes();
          break;
      }
      expect(got == v, "body field round trip");
    }
    expect(r.done(), "body round trip: bytes left over");
    // Reading past the end fails softly, and a count is bounded by what is left.
    (void)r.u64();
    expect(!r.ok() && r.bytes().empty() && r.count(1) == 0, "a Reader past the end");
    wire::Reader c(body);
    const std::uint64_t k = c.count(4);
    expect(!c.ok() || k <= c.left() / 4, "Reader::count over what is left");
  }

  struct Track {
    int requests = 0;  // executed requests (cancels aside) with this (client, request)
    int replies = 0;
  };

  Input& in_;
  mgr::Store store_;
  FakeServer server_;
  std::map<Key, Track> tracks_;
  std::set<std::uint64_t> dropped_;
  std::uint64_t next_request_[16] = {};
  std::uint64_t serial_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Input in(data, size);
  Session s(in);
  s.run();
  return 0;
}
