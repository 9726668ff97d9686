// shmq: the command-line tool for shmq's shared-memory segments (docs/cli.md).
//
// Exit codes: 0 ok, 1 runtime error (the segment is missing, corrupt, busy, ...), 2 usage error
// (an unknown command or option, a bad value). `shmq` alone prints the help (exit 0).
// Errors go to stderr as `shmq: segment "NAME": cause`.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "cli.hpp"
#include "render.hpp"
#include "shmq/error.hpp"

namespace {

using namespace shmq::cli;

// The documentation is not installed: the help names where it is in shmq's source tree.
constexpr const char* kJsonHelp = "One JSON document (schema: docs/cli.md in shmq's sources)";

// Each command's options, filled by the parse; `rc` is the chosen command's exit code.
struct Commands {
  LsOptions ls;
  InspectOptions in;
  WatchOptions watch;
  DumpOptions dump;
  std::string dump_format = "hex";
  RmOptions rm;
  GcOptions gc;
  std::string serve_name;
  int rc = kExitOk;
};

// The commands that only read segments.
void add_read_commands(CLI::App& app, Commands& c) {
  auto* ls_cmd = app.add_subcommand("ls",
                                    "List every shmq segment of this user (and foreign or "
                                    "corrupt files in the shared-memory directory)");
  ls_cmd->add_flag("--json", c.ls.json, kJsonHelp);
  ls_cmd->callback([&] { c.rc = run_ls(c.ls); });

  auto* in_cmd = app.add_subcommand(
      "inspect", "Show a segment's header, positions, sleepers, registry and counters");
  in_cmd->add_option("NAME", c.in.name, "Segment name")->required();
  in_cmd->add_flag("--json", c.in.json, kJsonHelp);
  in_cmd->callback([&] { c.rc = run_inspect(c.in); });

  auto* watch_cmd =
      app.add_subcommand("watch", "Live rates, depth and attached processes of a segment");
  watch_cmd->add_option("NAME", c.watch.name, "Segment name")->required();
  watch_cmd->add_option("--interval", c.watch.interval_ms, "Milliseconds between refreshes")
      ->capture_default_str()
      ->check(CLI::Range(1U, 3'600'000U));
  watch_cmd->add_option("--count", c.watch.count, "Stop after N refreshes (0: until Ctrl-C)")
      ->capture_default_str();
  watch_cmd->callback([&] { c.rc = run_watch(c.watch); });

  auto* dump_cmd = app.add_subcommand(
      "dump", "Print the messages now in a queue, oldest first, without consuming them");
  dump_cmd->add_option("NAME", c.dump.name, "Queue name")->required();
  dump_cmd->add_option("--max", c.dump.max, "At most N messages (0: all)")->capture_default_str();
  dump_cmd->add_option("--format", c.dump_format, "hex, text or json")
      ->check(CLI::IsMember({"hex", "text", "json"}))
      ->capture_default_str();
  dump_cmd->callback([&] {
    c.dump.format = c.dump_format == "json"   ? DumpFormat::json
                    : c.dump_format == "text" ? DumpFormat::text
                                              : DumpFormat::hex;
    c.rc = run_dump(c.dump);
  });
}

// The commands that change what is there: unlink segments, or serve a Manager.
void add_write_commands(CLI::App& app, Commands& c) {
  auto* rm_cmd = app.add_subcommand(
      "rm", "Unlink segments; refuses while a live process is attached, unless --force");
  rm_cmd->add_option("NAME", c.rm.names, "Segment names")->required();
  rm_cmd->add_flag("-f,--force", c.rm.force, "Unlink even while live processes are attached");
  rm_cmd->callback([&] { c.rc = run_rm(c.rm); });

  auto* gc_cmd = app.add_subcommand(
      "gc", "Unlink every segment that no live process is attached to and that holds nothing");
  gc_cmd->add_flag("-n,--dry-run", c.gc.dry_run, "Only say what would be removed");
  gc_cmd->add_option("--prefix", c.gc.prefix, "Only segments whose name starts with PREFIX");
  gc_cmd->add_flag("--include-backlog", c.gc.include_backlog,
                   "Also remove segments that still hold messages (a queue's, a pipe's unread "
                   "bytes, a Manager's journal): what they hold is lost");
  gc_cmd->add_flag("--json", c.gc.json, kJsonHelp);
  gc_cmd->callback([&] { c.rc = run_gc(c.gc); });

  auto* serve_cmd = app.add_subcommand(
      "serve", "Run the server of Manager NAME in the foreground until SIGINT/SIGTERM or shutdown");
  serve_cmd->add_option("NAME", c.serve_name, "Manager name")->required();
  serve_cmd->callback([&] { c.rc = run_serve(c.serve_name); });
}

// Whether `word` names one of the app's commands.
bool names_a_command(const CLI::App& app, const std::string& word) {
  const auto commands = app.get_subcommands([](const CLI::App*) { return true; });
  return std::any_of(commands.begin(), commands.end(),
                     [&](const CLI::App* c) { return c->get_name() == word; });
}

int parse_and_run(int argc, char** argv) {
  CLI::App app{"shmq: list, inspect, watch, dump and clean up shmq's shared-memory segments"};
  app.name("shmq");
  app.set_version_flag("--version", std::string("shmq ") + SHMQ_CLI_VERSION);
  app.require_subcommand(1);
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return fmt::format("shmq: {}\nRun with --help for more information.\n", e.what());
  });
  Commands c;
  add_read_commands(app, c);
  add_write_commands(app, c);
  app.footer("Each command's options: shmq COMMAND --help. Manual: docs/cli.md in shmq's sources.");

  if (argc == 1) {  // no command: the help, and success
    fmt::print("{}", app.help());
    return kExitOk;
  }
  // A first word that is not an option must name a command. CLI11 would only say that a
  // command is required; name the word.
  if (const std::string first = argv[1];
      !first.empty() && first[0] != '-' && !names_a_command(app, first)) {
    fmt::print(stderr, "shmq: unknown command '{}'\nRun with --help for more information.\n",
               first);
    return kExitUsage;
  }

  try {
    app.parse(argc, argv);  // runs the chosen subcommand's callback
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return c.rc;
}

}  // namespace

// A segment's mapping is sized when it is opened; a process of the same user that shrinks the
// file afterwards (ftruncate) turns every access past the new end into SIGBUS (docs/design.md,
// "Threat model"). The tool reads live segments, so it reports that as a runtime error instead
// of dying of the signal: nothing is half-written by a reader, so exiting at once is safe.
extern "C" void on_sigbus(int /*sig*/) {
  static const char kMessage[] =
      "shmq: the segment's file shrank while it was being read (truncated by another process)\n";
  (void)!::write(STDERR_FILENO, kMessage, sizeof(kMessage) - 1);
  ::_exit(kExitRuntime);
}

int main(int argc, char** argv) {
  struct sigaction on_bus {};
  on_bus.sa_handler = on_sigbus;
  sigemptyset(&on_bus.sa_mask);
  ::sigaction(SIGBUS, &on_bus, nullptr);
  try {
    return parse_and_run(argc, argv);
  } catch (const shmq::Error& e) {
    std::fflush(stdout);
    fmt::print(stderr, "shmq: {}\n", e.what());
  } catch (const std::exception& e) {
    std::fflush(stdout);
    fmt::print(stderr, "shmq: {}\n", e.what());
  }
  return kExitRuntime;
}
