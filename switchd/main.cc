// switchd: flags and config file -> Daemon; errors -> one line on stderr and an exit status
// (0 clean exit, 1 could not start, 2 usage).
#include <getopt.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "switchd/control/config.h"
#include "switchd/control/protocol.h"
#include "switchd/io/daemon.h"
#include "switchd/io/log.h"

namespace {

constexpr const char* kUsage =
    "usage: switchd [--socket PATH] [--socket-group GROUP] [--port NAME[:KIND]]...\n"
    "               [--config FILE] [--log-level debug|info|warn|error] [--max-macs N]\n"
    "               [--aging SECONDS] [--metrics ADDR:PORT]\n"
    "\n"
    "A userspace Layer-2 switch between TAP devices, driven by switchctl.\n"
    "\n"
    "  -s, --socket PATH     control socket (default /run/switchd/switchd.sock)\n"
    "  -g, --socket-group GROUP  group that may use the control socket (mode 0660)\n"
    "  -p, --port NAME[:KIND]  add a port; repeatable. KIND: tap (default; switchd\n"
    "                        holds the TAP NAME), vm (a persistent TAP NAME left free\n"
    "                        for a hypervisor), attach (the existing interface NAME)\n"
    "  -c, --config FILE     load a JSON configuration (docs/configuration.md);\n"
    "                        SIGHUP rereads it\n"
    "  -l, --log-level LEVEL debug, info (default), warn or error\n"
    "      --max-macs N      MAC table size (default 8192)\n"
    "      --aging SECONDS   aging time of learned MACs and ARP bindings (default 300)\n"
    "      --metrics ADDR:PORT  serve Prometheus metrics at http://ADDR:PORT/metrics\n"
    "                        (IPv4 or [IPv6], e.g. 127.0.0.1:9100; port 0: any free one)\n"
    "  -h, --help            this help\n"
    "  -V, --version         print the version\n";

int UsageError(const std::string& message) {
  fprintf(stderr, "switchd: %s (try 'switchd --help')\n", message.c_str());
  return 2;
}

bool ParseInteger(const char* text, int64_t min, int64_t max, int64_t* out) {
  char* end = nullptr;
  errno = 0;
  long long value = strtoll(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || value < min || value > max) return false;
  *out = value;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  enum { kMaxMacs = 1000, kAging, kMetrics };
  const option long_options[] = {
      {"socket", required_argument, nullptr, 's'},
      {"socket-group", required_argument, nullptr, 'g'},
      {"port", required_argument, nullptr, 'p'},
      {"config", required_argument, nullptr, 'c'},
      {"log-level", required_argument, nullptr, 'l'},
      {"max-macs", required_argument, nullptr, kMaxMacs},
      {"aging", required_argument, nullptr, kAging},
      {"metrics", required_argument, nullptr, kMetrics},
      {"help", no_argument, nullptr, 'h'},
      {"version", no_argument, nullptr, 'V'},
      {nullptr, 0, nullptr, 0},
  };
  // What the command line gives: ports added after the file's, scalars that override it.
  switchd::Config command_line;
  std::optional<std::string> config_file;

  opterr = 0;
  int opt;
  while ((opt = getopt_long(argc, argv, ":s:g:p:c:l:hV", long_options, nullptr)) != -1) {
    switch (opt) {
      case 's':
        command_line.socket = optarg;
        break;
      case 'g':
        if (*optarg == '\0') return UsageError("--socket-group needs a group name");
        command_line.socket_group = optarg;
        break;
      case 'c':
        config_file = optarg;
        break;
      case 'l':
        command_line.log_level = optarg;
        break;
      case 'p': {
        auto port = switchd::ParsePortArgument(optarg);
        if (!port.ok()) return UsageError(port.status().message());
        command_line.ports.push_back(*port);
        break;
      }
      case kMaxMacs: {
        int64_t value;
        if (!ParseInteger(optarg, switchd::kMinMaxMacs, switchd::kMaxMaxMacs, &value)) {
          return UsageError("invalid --max-macs '" + std::string(optarg) + "' (expected " +
                            std::to_string(switchd::kMinMaxMacs) + " to " +
                            std::to_string(switchd::kMaxMaxMacs) + ")");
        }
        command_line.max_macs = static_cast<size_t>(value);
        break;
      }
      case kAging: {
        int64_t value;
        if (!ParseInteger(optarg, 1, 1000000, &value)) {
          return UsageError("invalid --aging '" + std::string(optarg) +
                            "' (expected seconds from 1 to 1000000)");
        }
        command_line.aging_seconds = value;
        break;
      }
      case kMetrics: {
        command_line.metrics = switchd::ParseMetricsAddress(optarg);
        if (!command_line.metrics) {
          return UsageError("invalid --metrics '" + std::string(optarg) + "' (expected " +
                            std::string(switchd::kMetricsAddressForm) + ")");
        }
        break;
      }
      case 'h':
        fputs(kUsage, stdout);
        return 0;
      case 'V':
        printf("switchd %s\n", SWITCHD_VERSION);
        return 0;
      case ':':
        return UsageError(std::string("option '") + argv[optind - 1] + "' needs a value");
      default:
        return UsageError(std::string("unknown option '") + argv[optind - 1] + "'");
    }
  }
  if (optind < argc) return UsageError("unexpected argument '" + std::string(argv[optind]) + "'");

  if (command_line.log_level && !switchd::ParseLogLevel(*command_line.log_level)) {
    return UsageError("invalid log level '" + *command_line.log_level +
                      "' (expected debug, info, warn or error)");
  }

  switchd::Daemon::Options options;
  options.config_file = config_file;
  if (config_file) {
    auto loaded = switchd::LoadConfigFile(*config_file);
    if (!loaded.ok()) {
      fprintf(stderr, "switchd: %s\n", loaded.status().message().c_str());
      return 1;
    }
    options.file = std::move(*loaded);
  }
  options.command_line = command_line;
  const switchd::Config config = switchd::Merge(options.file, command_line);
  // ParseConfig and the check above accept only known levels.
  if (config.log_level) switchd::SetLogLevel(*switchd::ParseLogLevel(*config.log_level));
  options.socket = config.socket.value_or(std::string(switchd::protocol::kDefaultSocketPath));

  // A client that disconnects mid-reply must not kill the switch.
  signal(SIGPIPE, SIG_IGN);

  auto daemon = switchd::Daemon::Start(options);
  if (!daemon.ok()) {
    fprintf(stderr, "switchd: %s\n", daemon.status().message().c_str());
    return 1;
  }
  return (*daemon)->Run();
}
