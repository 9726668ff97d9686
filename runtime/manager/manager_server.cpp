// The Manager's server: one thread that takes requests from N.req, applies each whole to the
// Store, journals what changed, and answers on each client's reply queue.
//
// - Requests are applied in the order the request queue delivers them (FIFO per client).
// - A reply is sent only after the change is in the journal: an answered change survives the
//   server's death (docs/manager.md, "Adoption").
// - The server never blocks on a client: replies that do not fit a client's reply queue wait in
//   that client's outbox and are retried on every turn of the loop.
// - Every `housekeeping` interval the server checks each known client's registry token; a dead
//   client's locks are released, its waits dropped, its reply queue unlinked.
#include "manager_server.hpp"

#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "manager_journal.hpp"
#include "manager_store.hpp"
#include "shmq/detail/access.hpp"
#include "shmq/detail/manager/manager_client.hpp"
#include "shmq/error.hpp"
#include "shmq/queue.hpp"

namespace shmq::detail {

using wire::Code;
using wire::Op;

namespace {

std::atomic<int> g_stop{0};  // set by request_server_stop()

constexpr int kBatch = 256;  // requests taken per turn before the loop looks at anything else

std::string error_reply_body(std::string_view message) {
  std::string out;
  wire::Writer(out).bytes(message);
  return out;
}

// Installs SIGTERM/SIGINT handlers that stop the server; restores the old ones on destruction.
class SignalGuard {
 public:
  explicit SignalGuard(bool enable) : enabled_(enable) {
    if (!enabled_) return;
    struct sigaction sa {};
    sa.sa_handler = [](int) { request_server_stop(); };
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, &old_term_);
    sigaction(SIGINT, &sa, &old_int_);
  }
  ~SignalGuard() {
    if (!enabled_) return;
    sigaction(SIGTERM, &old_term_, nullptr);
    sigaction(SIGINT, &old_int_, nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;

 private:
  bool enabled_;
  struct sigaction old_term_ {};
  struct sigaction old_int_ {};
};

struct ClientState {
  std::uint64_t token = 0;  // in N.req's registry
  std::optional<Queue<std::string>> replies;
  bool unreachable = false;  // its reply queue is missing or unusable: replies are dropped
  std::deque<std::string> outbox;
  PartialRequest partial;  // a multi-frame request being reassembled
};

class Server final : private RequestSink {
 public:
  Server(std::string_view name, const ServerConfig& config, Segment* created);
  void run(const std::function<void()>& on_ready);

 private:
  ManagerControl& ctl() const noexcept { return manager_control(segment_); }
  void claim();
  void replay();
  void publish();
  // RequestSink: what dispatch_frame() asks of the server.
  PartialRequest* admit(std::uint64_t client, std::uint64_t token) override;
  void refuse(std::uint64_t client, std::uint64_t request) override;
  void reply(std::uint64_t client, std::uint64_t request, Code code,
             std::string_view body) override;
  void journal(Op op, std::string_view body) override;
  void changed() override;
  void malformed() override { count(ctl().malformed); }
  void applied() override { count(ctl().requests); }
  void stop() override { stopping_ = true; }
  void deliver(mgr::Effects& fx);
  void send(std::uint64_t client_id, ClientState& c, std::uint64_t request, Code code,
            std::string_view body);
  void reply_header(std::uint64_t client_id, std::uint64_t request, bool more);
  bool open_replies(std::uint64_t client_id, ClientState& c);
  void flush_outboxes();
  void housekeeping();
  void maybe_compact();
  void shut_down();
  void count(std::atomic<std::uint64_t>& counter) noexcept {
    // relaxed: single writer (this server); readers want a figure, not an ordering.
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }

  std::string name_;
  ServerConfig config_;
  Segment owned_;     // the manager segment if we opened/created it here
  Segment& segment_;  // the one we use (owned_ or the caller's)
  ManagerConfig cfg_;
  bool fresh_ = false;
  std::uint32_t epoch_ = 0;
  Queue<std::string> requests_;
  mgr::Journal journal_;
  mgr::Store store_;
  std::unordered_map<std::uint64_t, ClientState> clients_;
  std::size_t outboxes_ = 0;  // clients with a non-empty outbox
  bool stopping_ = false;
  bool journal_failed_ = false;
  std::string frame_;
};

Segment open_or_create_segment(std::string_view name, const ServerConfig& config, bool& fresh) {
  for (int attempt = 0;; ++attempt) {
    try {
      Segment seg = Segment::open(name, SegmentKind::manager);
      fresh = false;
      return seg;
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::not_found) || attempt >= 8) throw;
    }
    try {
      Segment seg = create_manager_segment(name, config.manager, config.mode);
      fresh = true;
      return seg;
    } catch (const Error& e) {
      if (e.code() != make_error_code(Errc::already_exists)) throw;
    }
  }
}

Server::Server(std::string_view name, const ServerConfig& config, Segment* created)
    : name_(name), config_(config), segment_(created ? *created : owned_) {
  validate_manager_name(name);
  if (created) {
    fresh_ = true;
  } else {
    owned_ = open_or_create_segment(name, config, fresh_);
  }
  cfg_ = validate_manager_control(segment_);
  claim();
  // From here on N is ours to serve: build the rest, then publish.
  journal_ = mgr::Journal(manager_journal_path(name_), fresh_, config_.mode);
  replay();
  const std::string req = manager_request_name(name_);
  QueueOptions q;
  q.capacity = cfg_.request_capacity;
  q.producers = Producers::many;
  q.consumers = Consumers::one;
  q.max_message = cfg_.max_message;
  q.mode = config_.mode;
  q.wait = config_.wait;
  q.wait.sleep_slice = std::min(config_.wait.sleep_slice, config_.housekeeping);
  if (fresh_) Queue<std::string>::remove(req);  // a leftover of an earlier manager: not ours
  requests_ = Queue<std::string>::open_or_create(req, q);
  requests_.set_wait_policy(q.wait);
  if (requests_.max_message() < cfg_.max_message) {
    throw Error(Errc::corrupt, req, "request queue slots smaller than the manager's messages");
  }
  requests_.claim_consumer();  // takes over from a dead server
}

void Server::claim() {
  const std::uint64_t me = segment_.self_token();
  // [A10] see the previous server's state before taking over.
  std::uint64_t current = ctl().claim_token.load(std::memory_order_acquire);
  for (;;) {
    if (current != 0 && current != me && segment_.is_alive(current)) {
      const std::uint32_t index = token_index(current);
      // relaxed: for the message only.
      const std::uint32_t pid =
          index < kRegistryCapacity ? segment_.entry(index).pid.load(std::memory_order_relaxed) : 0;
      throw Error(Errc::already_exists, name_,
                  fmt::format("already served by live process {}", pid));
    }
    // acq_rel: take the claim and see what the dead server left; acquire on failure to retry.
    if (detail::shm_cas_strong(ctl().claim_token, current, me, std::memory_order_acq_rel,
                               std::memory_order_acquire)) {
      break;
    }
  }
  if (ctl().state.load(std::memory_order_acquire) == kManagerStateShutDown) {
    throw Error(Errc::not_ready, name_, "the manager is being shut down");
  }
}

void Server::replay() {
  mgr::Effects ignored;
  const std::uint64_t n = journal_.replay([&](Op op, std::string_view body) {
    ignored.replies.clear();
    store_.apply(mgr::Caller{}, op, body, ignored);
  });
  (void)n;
}

void Server::publish() {
  // relaxed: published with server_token by [R10].
  epoch_ = ctl().epoch.load(std::memory_order_relaxed) + 1;
  if (epoch_ == 0) epoch_ = 1;
  detail::shm_store(ctl().epoch, epoch_, std::memory_order_relaxed);
  detail::shm_store(ctl().server_pid, static_cast<std::uint32_t>(getpid()),
                    std::memory_order_relaxed);
  // [R10] publish the serving server (after its epoch, journal and queue); pairs with [A10].
  detail::shm_store(ctl().server_token, segment_.self_token(), std::memory_order_release);
}

void Server::run(const std::function<void()>& on_ready) {
  publish();
  if (on_ready) on_ready();
  auto next_housekeeping = std::chrono::steady_clock::now() + config_.housekeeping;
  std::string msg;
  while (!stopping_) {
    if (g_stop.load(std::memory_order_relaxed) != 0) break;  // relaxed: a flag, nothing more
    const auto wait = outboxes_ != 0 ? std::chrono::milliseconds(1) : config_.housekeeping;
    Status s = requests_.get_for(msg, wait);
    for (int n = 0; s == Status::ok && !stopping_; ++n) {
      dispatch_frame(msg, epoch_, store_, *this);
      if (n + 1 >= kBatch) break;
      s = requests_.try_get(msg);
    }
    if (s == Status::corrupt) count(ctl().malformed);  // a frame that would not decode
    if (s == Status::closed) stopping_ = true;  // someone closed N.req: nobody can ask any more
    if (outboxes_ != 0) flush_outboxes();
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_housekeeping) {
      housekeeping();
      next_housekeeping = now + config_.housekeeping;
    }
  }
  shut_down();
}

PartialRequest* Server::admit(std::uint64_t client, std::uint64_t token) {
  auto it = clients_.find(client);
  if (it == clients_.end()) {
    if (clients_.size() >= kMaxManagerClients) housekeeping();
    if (clients_.size() >= kMaxManagerClients) return nullptr;
    it = clients_.emplace(client, ClientState{}).first;
  }
  it->second.token = token;
  return &it->second.partial;
}

void Server::refuse(std::uint64_t client, std::uint64_t request) {
  // Not tracked: its reply queue is opened for this one reply, then let go (with its role).
  ClientState once;
  if (!open_replies(client, once)) return;
  const std::string body = error_reply_body(fmt::format(
      "the server tracks {} clients, as many as it may; try again later", kMaxManagerClients));
  reply_header(client, request, false);
  frame_.push_back(static_cast<char>(Code::refused));
  frame_.append(body);
  // A full reply queue drops it: a waiting client has read the replies of its earlier calls.
  (void)once.replies->try_put(frame_);
}

void Server::reply(std::uint64_t client, std::uint64_t request, Code code, std::string_view body) {
  const auto it = clients_.find(client);
  if (it == clients_.end()) return;  // the client is gone
  send(client, it->second, request, code, body);
}

void Server::journal(Op op, std::string_view body) {
  if (!journal_.append(op, body) && !journal_failed_) {
    journal_failed_ = true;
    std::fprintf(stderr,
                 "shmq: manager \"%s\": journal write failed; changes from now on "
                 "will not survive a server restart\n",
                 name_.c_str());
  }
}

void Server::changed() {
  if (journal_.wants_compaction()) maybe_compact();
}

void Server::deliver(mgr::Effects& fx) {
  for (const mgr::Reply& r : fx.replies)
    reply(r.client, r.request, r.code, r.body);
  fx.replies.clear();
}

bool Server::open_replies(std::uint64_t client_id, ClientState& c) {
  if (c.replies) return true;
  if (c.unreachable) return false;
  try {
    Queue<std::string> q = Queue<std::string>::open(manager_reply_name(name_, client_id));
    if (q.max_message() < cfg_.max_message) throw Error(Errc::corrupt, q.name(), "slots too small");
    q.claim_producer();  // takes over from a dead server
    c.replies.emplace(std::move(q));
    return true;
  } catch (const Error&) {
    c.unreachable = true;  // a dead client, or a hostile id: its replies go nowhere
    count(ctl().malformed);
    return false;
  }
}

void Server::send(std::uint64_t client_id, ClientState& c, std::uint64_t request, Code code,
                  std::string_view body) {
  if (!open_replies(client_id, c)) return;
  const std::size_t room = cfg_.max_message - wire::kFrameHeaderBytes;
  const bool was_empty = c.outbox.empty();
  // The code byte leads the body; frames carry at most `room` bytes of it.
  const std::size_t total = 1 + body.size();
  std::size_t at = 0;
  do {
    const std::size_t n = std::min(room, total - at);
    reply_header(client_id, request, at + n < total);
    std::size_t from = at;
    std::size_t left = n;
    if (from == 0) {
      frame_.push_back(static_cast<char>(code));
      left -= 1;
    } else {
      from -= 1;
    }
    frame_.append(body.substr(from, left));
    if (!c.outbox.empty() || c.replies->try_put(frame_) != Status::ok) c.outbox.push_back(frame_);
    at += n;
  } while (at < total);
  if (was_empty && !c.outbox.empty()) ++outboxes_;
}

// Starts frame_ with the header of a reply frame.
void Server::reply_header(std::uint64_t client_id, std::uint64_t request, bool more) {
  wire::FrameHeader h;
  h.op = Op::reply;
  h.flags = more ? wire::kFrameMore : 0;
  h.epoch = epoch_;
  h.client_id = client_id;
  h.request_id = request;
  frame_.resize(wire::kFrameHeaderBytes);
  wire::put_header(h, frame_.data());
}

void Server::flush_outboxes() {
  for (auto& [id, c] : clients_) {
    if (c.outbox.empty()) continue;
    while (!c.outbox.empty() && c.replies && c.replies->try_put(c.outbox.front()) == Status::ok) {
      c.outbox.pop_front();
    }
    if (c.outbox.empty()) --outboxes_;
  }
}

void Server::housekeeping() {
  const Segment& reg = core_of(requests_).segment();
  std::vector<std::uint64_t> dead;
  for (const auto& [id, c] : clients_) {
    if (!reg.is_alive(c.token)) dead.push_back(id);
  }
  for (const std::uint64_t id : dead) {
    mgr::Effects fx;
    store_.drop_client(id, fx);
    const auto it = clients_.find(id);
    if (!it->second.outbox.empty()) --outboxes_;
    clients_.erase(it);
    Queue<std::string>::remove(manager_reply_name(name_, id));
    count(ctl().dead_clients);
    deliver(fx);
  }
}

void Server::maybe_compact() {
  try {
    journal_.compact([&](const mgr::Journal::Emit& emit) { store_.snapshot(emit); });
  } catch (const Error& e) {
    std::fprintf(stderr, "shmq: manager \"%s\": %s\n", name_.c_str(), e.what());
  }
}

void Server::shut_down() {
  // [R11] say why the server goes before it goes; pairs with [A10]-side reads of `state`.
  detail::shm_store(ctl().state, kManagerStateShutDown, std::memory_order_release);
  mgr::Effects fx;
  store_.fail_all_waiters(Code::shutting_down, fx);
  deliver(fx);
  flush_outboxes();
  requests_.close();
  for (const std::string& q : store_.queues()) {
    Queue<std::string>::remove(manager_queue_name(name_, q));
  }
  remove_manager_names(name_);
}

// Applies one whole request (header `h`, arguments `body`) for dispatch_frame().
void execute(const wire::FrameHeader& h, std::string_view body, std::uint32_t epoch,
             mgr::Store& store, RequestSink& sink) {
  const Op op = h.op;
  const std::uint64_t client = h.client_id;
  if (h.epoch != epoch) {
    // Sent to an earlier server: not applied. The client (if it still waits) sends it again.
    if (op != Op::cancel) sink.reply(client, h.request_id, Code::stale_epoch, {});
    return;
  }
  mgr::Effects fx;
  switch (op) {
    case Op::ping:
      sink.reply(client, h.request_id, Code::ok, {});
      return;
    case Op::shutdown:
      sink.stop();
      sink.reply(client, h.request_id, Code::ok, {});
      return;
    case Op::cancel: {
      wire::Reader in(body);
      const std::uint64_t target = in.u64();
      if (!in.done()) {
        sink.malformed();
        return;  // a cancel has no reply of its own
      }
      store.cancel(client, target, fx);
      break;
    }
    default:
      store.apply(mgr::Caller{client, h.request_id}, op, body, fx);
      if (fx.changed) sink.journal(op, body);
      if (!fx.replies.empty() && fx.replies.back().code == Code::malformed) sink.malformed();
      sink.applied();
      break;
  }
  for (const mgr::Reply& r : fx.replies)
    sink.reply(r.client, r.request, r.code, r.body);
  if (fx.changed) sink.changed();
}

}  // namespace

void dispatch_frame(std::string_view frame, std::uint32_t epoch, mgr::Store& store,
                    RequestSink& sink) {
  wire::FrameHeader h;
  if (!wire::get_header(frame, h) || h.client_id == 0 || h.op == Op::reply) {
    sink.malformed();  // nobody to answer
    return;
  }
  const bool more = (h.flags & wire::kFrameMore) != 0;
  PartialRequest* const p = sink.admit(h.client_id, h.token);
  if (p == nullptr) {
    sink.malformed();  // not applied: counted with the frames that could not be
    // The client waits for an answer (but not to a cancel): one per request, at its last frame.
    if (!more && h.op != Op::cancel) sink.refuse(h.client_id, h.request_id);
    return;
  }
  const std::string_view body = frame.substr(wire::kFrameHeaderBytes);
  if (p->active && p->request != h.request_id) {
    p->active = false;  // an unfinished message of a request given up: drop it
    p->bytes.clear();
    sink.malformed();
  }
  if (!more && !p->active) {
    execute(h, body, epoch, store, sink);
    return;
  }
  if (!p->active) {
    p->active = true;
    p->request = h.request_id;
    p->op = h.op;
    p->epoch = h.epoch;
  }
  if (p->bytes.size() + body.size() > wire::kMaxMessageBytes) {
    p->active = false;
    p->bytes.clear();
    sink.malformed();
    sink.reply(h.client_id, h.request_id, Code::too_large, error_reply_body("request too large"));
    return;
  }
  p->bytes.append(body);
  if (more) return;
  p->active = false;
  const std::string whole = std::move(p->bytes);
  p->bytes.clear();
  h.op = p->op;
  h.epoch = p->epoch;
  execute(h, whole, epoch, store, sink);
}

void request_server_stop() noexcept {
  g_stop.store(1, std::memory_order_relaxed);  // relaxed: a flag polled by the loop
}

void run_server(std::string_view name, const ServerConfig& config, Segment* segment,
                const std::function<void()>& on_ready) {
  SignalGuard signals(config.handle_signals);
  // A stop requested before this point (a SIGTERM right after fork) is kept, not reset.
  struct ResetStop {
    ~ResetStop() { g_stop.store(0, std::memory_order_relaxed); }  // relaxed: a flag
  } reset;
  Server server(name, config, segment);
  server.run(on_ready);
}

bool remove_manager_names(std::string_view name) {
  validate_manager_name(name);
  const std::string prefix = fmt::format("{}.", name);
  if (DIR* dir = ::opendir("/dev/shm")) {
    std::vector<std::string> doomed;
    while (const dirent* e = ::readdir(dir)) {
      const std::string_view file(e->d_name);
      if (file.size() <= prefix.size() || file.substr(0, prefix.size()) != prefix) continue;
      const std::string_view rest = file.substr(prefix.size());
      const bool reply = rest.size() > 1 && rest[0] == 'c' &&
                         rest.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
      const bool derived = reply || rest == "req" || rest == "journal" || rest == "journal.tmp" ||
                           rest.substr(0, 2) == "q.";
      if (derived) doomed.emplace_back(file);
    }
    ::closedir(dir);
    for (const std::string& f : doomed)
      ::unlink(segment_path(f).c_str());
  }
  return Segment::remove(name);
}

}  // namespace shmq::detail
