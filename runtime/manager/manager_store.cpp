// The Store's data objects (dict, list, value), attach, and snapshots. Sync objects are in
// manager_sync.cpp.
//
// Every op decodes all its arguments and checks that the body is consumed (`in.done()`) before
// it changes anything: a malformed request changes nothing.
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>

#include "manager_store.hpp"
#include "type_names.hpp"

namespace shmq::detail::mgr {

namespace {

constexpr std::size_t kSnapshotChunk = 1U << 20;  // bytes of items per snapshot record

std::string error_body(std::string_view message) {
  std::string out;
  wire::Writer(out).bytes(message);
  return out;
}

const char* kind_name(ObjectKind k) {
  switch (k) {
    case ObjectKind::dict:
      return "dict";
    case ObjectKind::list:
      return "list";
    case ObjectKind::value:
      return "value";
    case ObjectKind::lock:
      return "lock";
    case ObjectKind::rlock:
      return "rlock";
    case ObjectKind::semaphore:
      return "semaphore";
    case ObjectKind::event:
      return "event";
    case ObjectKind::barrier:
      return "barrier";
    case ObjectKind::condition:
      return "condition";
    case ObjectKind::queue:
      return "queue";
  }
  return "unknown";
}

bool known_kind(std::uint8_t k) {
  return k >= static_cast<std::uint8_t>(ObjectKind::dict) &&
         k <= static_cast<std::uint8_t>(ObjectKind::queue);
}

bool segment_name_chars(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '.') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::string prefix(std::string_view name, ObjectKind kind) {
  std::string out;
  wire::Writer w(out);
  w.bytes(name);
  w.u8(static_cast<std::uint8_t>(kind));
  return out;
}

}  // namespace

bool normalize_index(std::int64_t index, std::size_t size, std::size_t& out) noexcept {
  const auto n = static_cast<std::int64_t>(size);
  if (index < 0) index += n;
  if (index < 0 || index >= n) return false;
  out = static_cast<std::size_t>(index);
  return true;
}

void Store::involve(std::uint64_t client, const std::string& name) {
  if (client != 0) involved_[client].insert(name);
}

void Store::apply(const Caller& caller, Op op, std::string_view body, Effects& fx) {
  wire::Reader in(body);
  const std::string_view name = in.bytes();
  const std::uint8_t kind_byte = in.u8();
  auto fail = [&](Code code, std::string_view message) {
    fx.replies.push_back({caller.client, caller.request, code, error_body(message)});
  };
  if (!in.ok() || name.empty() || name.size() > wire::kMaxObjectName || !known_kind(kind_byte)) {
    fail(Code::malformed, "malformed object name or kind");
    return;
  }
  const auto kind = static_cast<ObjectKind>(kind_byte);
  if (op == Op::attach) {
    attach(caller, name, kind, in, fx);
    return;
  }
  const auto it = objects_.find(name);
  if (it == objects_.end()) {
    fail(Code::not_found, fmt::format("no object named '{}'", name));
    return;
  }
  Object& o = *it->second;
  if (o.kind != kind) {
    fail(Code::wrong_kind,
         fmt::format("object '{}' is a {}, not a {}", name, kind_name(o.kind), kind_name(kind)));
    return;
  }
  Code code = Code::ok;
  std::string out;
  switch (o.kind) {
    case ObjectKind::dict:
      code = apply_dict(o.dict, op, in, fx, out);
      break;
    case ObjectKind::list:
      code = apply_list(o.list, op, in, fx, out);
      break;
    case ObjectKind::value:
      code = apply_value(o.value, op, in, fx, out);
      break;
    case ObjectKind::queue:
      code = Code::malformed;
      break;
    default: {
      const SyncReply sync = apply_sync(caller, it->first, o, op, in, fx, out);
      if (sync == kParked) return;  // the caller waits: its reply goes out when it is granted
      code = *sync;
      break;
    }
  }
  if (code == Code::malformed) {
    fail(code, fmt::format("malformed {} request (op {}) on '{}'", kind_name(o.kind),
                           static_cast<int>(op), name));
    return;
  }
  fx.replies.push_back({caller.client, caller.request, code, std::move(out)});
}

void Store::attach(const Caller& caller, std::string_view name, ObjectKind kind, wire::Reader& in,
                   Effects& fx) {
  const std::string_view tag = in.bytes();
  const std::uint64_t param = in.u64();
  const std::string_view initial = in.bytes();
  auto reply = [&](Code code, std::string body) {
    fx.replies.push_back({caller.client, caller.request, code, std::move(body)});
  };
  if (!in.done()) return reply(Code::malformed, error_body("malformed attach"));
  if (const auto it = objects_.find(name); it != objects_.end()) {
    const Object& o = *it->second;
    if (o.kind != kind) {
      return reply(Code::wrong_kind, error_body(fmt::format("object '{}' is a {}, not a {}", name,
                                                            kind_name(o.kind), kind_name(kind))));
    }
    if (o.tag != tag) {
      return reply(
          Code::type_mismatch,
          error_body(fmt::format("{} '{}' holds <{}>, opened as <{}>", kind_name(kind), name,
                                 readable_type_names(o.tag), readable_type_names(tag))));
    }
    if (kind == ObjectKind::barrier && o.param != param) {
      return reply(Code::type_mismatch,
                   error_body(fmt::format("barrier '{}' has {} parties, opened with {}", name,
                                          o.param, param)));
    }
    return reply(Code::ok, {});
  }
  if (kind == ObjectKind::barrier && param == 0) {
    return reply(Code::malformed, error_body("a barrier needs at least one party"));
  }
  if (kind == ObjectKind::semaphore &&
      param > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return reply(Code::malformed, error_body("semaphore value out of range"));
  }
  if (kind == ObjectKind::queue && !segment_name_chars(name)) {
    return reply(Code::malformed, error_body("a queue name must be 1..128 of [A-Za-z0-9._-]"));
  }
  auto o = std::make_unique<Object>();
  o->kind = kind;
  o->tag.assign(tag);
  o->param = param;
  o->initial.assign(initial);
  o->value.bytes.assign(initial);
  o->sem.value = static_cast<std::int64_t>(kind == ObjectKind::semaphore ? param : 0);
  o->barrier.parties = param;
  std::string key(name);
  if (kind == ObjectKind::queue) queues_.push_back(key);
  order_.push_back(key);
  objects_.emplace(std::move(key), std::move(o));
  fx.changed = true;
  reply(Code::ok, {});
}

namespace {

// Sets key to value: in place if the key is there (Python keeps the key's place), else at the end.
void dict_assign(DictData& d, std::string_view key, std::string_view value) {
  const auto it = d.index.find(key);
  if (it != d.index.end()) {
    it->second->second.assign(value);
    return;
  }
  d.items.emplace_back(std::string(key), std::string(value));
  d.index.emplace(d.items.back().first, std::prev(d.items.end()));
}

// get / contains / erase / pop: one key looked up; absent if it is not there.
Code dict_by_key(DictData& d, Op op, wire::Reader& in, Effects& fx, wire::Writer& w) {
  const std::string_view key = in.bytes();
  if (!in.done()) return Code::malformed;
  const auto it = d.index.find(key);
  if (it == d.index.end()) return Code::absent;
  if (op == Op::dict_get || op == Op::dict_pop) w.bytes(it->second->second);
  if (op == Op::dict_erase || op == Op::dict_pop) {
    d.items.erase(it->second);
    d.index.erase(it);
    fx.changed = true;
  }
  return Code::ok;
}

// set, or setdefault (which changes nothing if the key is there, and returns the value held).
Code dict_set(DictData& d, Op op, wire::Reader& in, Effects& fx, wire::Writer& w) {
  const std::string_view key = in.bytes();
  const std::string_view value = in.bytes();
  if (!in.done()) return Code::malformed;
  if (op == Op::dict_setdefault) {
    const auto it = d.index.find(key);
    w.bytes(it != d.index.end() ? std::string_view(it->second->second) : value);
    if (it != d.index.end()) return Code::ok;
  }
  dict_assign(d, key, value);
  fx.changed = true;
  return Code::ok;
}

// update: the whole body is read first, so a malformed one changes nothing.
Code dict_update(DictData& d, wire::Reader& in, Effects& fx) {
  const std::uint64_t n = in.count(8);
  std::vector<std::pair<std::string_view, std::string_view>> kvs;
  kvs.reserve(n);
  for (std::uint64_t i = 0; i < n && in.ok(); ++i) {
    const std::string_view k = in.bytes();
    const std::string_view v = in.bytes();
    kvs.emplace_back(k, v);
  }
  if (!in.done()) return Code::malformed;
  for (const auto& [k, v] : kvs)
    dict_assign(d, k, v);
  fx.changed = !kvs.empty();
  return Code::ok;
}

// get / pop / set / insert: one index, Python's rules (negative counts from the end; insert
// clamps where get, pop and set raise IndexError).
Code list_by_index(ListData& l, Op op, wire::Reader& in, Effects& fx, wire::Writer& w) {
  auto& items = l.items;
  std::int64_t index = in.i64();
  const std::string_view v = op == Op::list_set || op == Op::list_insert ? in.bytes() : "";
  if (!in.done()) return Code::malformed;
  if (op == Op::list_insert) {
    const auto n = static_cast<std::int64_t>(items.size());
    if (index < 0) index = std::max<std::int64_t>(0, index + n);  // Python clamps
    index = std::min(index, n);
    items.emplace(items.begin() + index, v);
    fx.changed = true;
    return Code::ok;
  }
  std::size_t i = 0;
  if (!normalize_index(index, items.size(), i)) return Code::index_error;
  if (op == Op::list_set) {
    items[i].assign(v);
    fx.changed = true;
    return Code::ok;
  }
  w.bytes(items[i]);
  if (op == Op::list_pop) {
    items.erase(items.begin() + static_cast<std::ptrdiff_t>(i));
    fx.changed = true;
  }
  return Code::ok;
}

// extend: the whole body is read first, so a malformed one changes nothing.
Code list_extend(ListData& l, wire::Reader& in, Effects& fx) {
  const std::uint64_t n = in.count(4);
  std::vector<std::string_view> vs;
  vs.reserve(n);
  for (std::uint64_t i = 0; i < n && in.ok(); ++i)
    vs.push_back(in.bytes());
  if (!in.done()) return Code::malformed;
  l.items.insert(l.items.end(), vs.begin(), vs.end());
  fx.changed = !vs.empty();
  return Code::ok;
}

}  // namespace

Code Store::apply_dict(DictData& d, Op op, wire::Reader& in, Effects& fx, std::string& out) {
  wire::Writer w(out);
  switch (op) {
    case Op::dict_get:
    case Op::dict_contains:
    case Op::dict_erase:
    case Op::dict_pop:
      return dict_by_key(d, op, in, fx, w);
    case Op::dict_set:
    case Op::dict_setdefault:
      return dict_set(d, op, in, fx, w);
    case Op::dict_update:
      return dict_update(d, in, fx);
    case Op::dict_size:
      if (!in.done()) return Code::malformed;
      w.u64(d.items.size());
      return Code::ok;
    case Op::dict_items:
      if (!in.done()) return Code::malformed;
      w.u64(d.items.size());
      for (const auto& [k, v] : d.items) {
        w.bytes(k);
        w.bytes(v);
      }
      return Code::ok;
    case Op::dict_clear:
      if (!in.done()) return Code::malformed;
      fx.changed = !d.items.empty();
      d.index.clear();
      d.items.clear();
      return Code::ok;
    default:
      return Code::malformed;
  }
}

Code Store::apply_list(ListData& l, Op op, wire::Reader& in, Effects& fx, std::string& out) {
  wire::Writer w(out);
  auto& items = l.items;
  switch (op) {
    case Op::list_append: {
      const std::string_view v = in.bytes();
      if (!in.done()) return Code::malformed;
      items.emplace_back(v);
      fx.changed = true;
      return Code::ok;
    }
    case Op::list_extend:
      return list_extend(l, in, fx);
    case Op::list_get:
    case Op::list_pop:
    case Op::list_set:
    case Op::list_insert:
      return list_by_index(l, op, in, fx, w);
    case Op::list_size:
      if (!in.done()) return Code::malformed;
      w.u64(items.size());
      return Code::ok;
    case Op::list_items:
      if (!in.done()) return Code::malformed;
      w.u64(items.size());
      for (const auto& v : items)
        w.bytes(v);
      return Code::ok;
    case Op::list_clear:
      if (!in.done()) return Code::malformed;
      fx.changed = !items.empty();
      items.clear();
      return Code::ok;
    case Op::list_remove: {
      const std::string_view v = in.bytes();
      if (!in.done()) return Code::malformed;
      const auto it = std::find(items.begin(), items.end(), v);
      if (it == items.end()) return Code::absent;
      items.erase(it);
      fx.changed = true;
      return Code::ok;
    }
    default:
      return Code::malformed;
  }
}

Code Store::apply_value(ValueData& v, Op op, wire::Reader& in, Effects& fx, std::string& out) {
  wire::Writer w(out);
  switch (op) {
    case Op::value_get:
      if (!in.done()) return Code::malformed;
      w.bytes(v.bytes);
      return Code::ok;
    case Op::value_set: {
      const std::string_view bytes = in.bytes();
      if (!in.done()) return Code::malformed;
      v.bytes.assign(bytes);
      fx.changed = true;
      return Code::ok;
    }
    case Op::value_cas: {
      const std::string_view expected = in.bytes();
      const std::string_view desired = in.bytes();
      if (!in.done()) return Code::malformed;
      if (v.bytes != expected) {
        w.bytes(v.bytes);
        return Code::absent;
      }
      v.bytes.assign(desired);
      fx.changed = true;
      return Code::ok;
    }
    default:
      return Code::malformed;
  }
}

void Store::snapshot(const std::function<void(Op, std::string_view)>& emit) const {
  for (const std::string& name : order_) {
    const Object& o = *objects_.at(name);
    const std::string head = prefix(name, o.kind);
    std::string body = head;
    {
      wire::Writer w(body);
      w.bytes(o.tag);
      w.u64(o.param);
      w.bytes(o.initial);
    }
    emit(Op::attach, body);
    // Items in chunks, so that no record is huge.
    auto chunked = [&](Op op, std::size_t total, const auto& write_item) {
      std::size_t i = 0;
      while (i < total) {
        std::string items;
        std::uint64_t n = 0;
        wire::Writer iw(items);
        while (i < total && items.size() < kSnapshotChunk) {
          write_item(iw, i++);
          ++n;
        }
        body = head;
        wire::Writer(body).u64(n);
        body += items;
        emit(op, body);
      }
    };
    switch (o.kind) {
      case ObjectKind::dict: {
        std::vector<const std::pair<std::string, std::string>*> all;
        all.reserve(o.dict.items.size());
        for (const auto& kv : o.dict.items)
          all.push_back(&kv);
        chunked(Op::dict_update, all.size(), [&](wire::Writer& iw, std::size_t i) {
          iw.bytes(all[i]->first);
          iw.bytes(all[i]->second);
        });
        break;
      }
      case ObjectKind::list:
        chunked(Op::list_extend, o.list.items.size(),
                [&](wire::Writer& iw, std::size_t i) { iw.bytes(o.list.items[i]); });
        break;
      case ObjectKind::value:
        body = head;
        wire::Writer(body).bytes(o.value.bytes);
        emit(Op::value_set, body);
        break;
      case ObjectKind::event:
        if (o.event.set) emit(Op::event_set, head);
        break;
      default:
        break;
    }
  }
}

}  // namespace shmq::detail::mgr
