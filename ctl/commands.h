// switchctl's command table and its command-line parser: pure functions, no I/O.
//
// One table (Commands()) drives dispatch, argument checking, the params sent to the daemon, the
// usage lines and `help`. A command's name is the JSON-RPC method it calls; its arguments and
// options are named by the method's params (docs/control-protocol.md). ParseCommandLine turns
// argv into a CommandLine (what to do) or a CtlError (what to print, and the exit status):
// structural mistakes (unknown command or option, wrong argument count) are usage errors,
// exit 2; a bad value (MAC, IP, number) is a failure, exit 1.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace switchd::ctl {

// switchctl's exit statuses.
enum class ExitCode : int {
  kOk = 0,
  kFailure = 1,  // the command failed: daemon error, bad value, daemon not running
  kUsage = 2,    // the command line is wrong
};

// An error to report: one line (without the "switchctl: " prefix) and the exit status.
struct CtlError {
  ExitCode exit_code = ExitCode::kFailure;
  std::string message;
};

// How an argument's text becomes a param value; each type validates locally.
enum class ValueType {
  kString,      // sent as-is (port names and kinds are checked by the daemon)
  kMac,         // aa:bb:cc:dd:ee:ff, sent lower case
  kIp,          // dotted quad
  kVlan,        // integer 1..4094
  kAgingTime,   // integer seconds, 1..1000000
  kOnOff,       // "on" or "off", sent as true or false
  kCount,       // integer 0..16777216
  kRate,        // frames per second 0..100000000, or "off" (sent as 0)
  kCommand,     // a switchctl command name (help's argument)
  kFlag,        // an option without a value: its param is sent as true
  kMtu,         // integer 68..65535
  kOutputFile,  // a file switchctl writes the result to ("-": standard output); not sent
  kVlanList,    // "10,20,30-40", sent in canonical form
  kDirection,   // rx, tx or both
  kVni,         // integer 1..16777215
  kUdpPort,     // integer 1..65535
  kFrameCount,  // integer 1..1000000000
  kDuration,    // integer seconds 1..86400
  kPath,        // a file path, sent absolute (the daemon's working directory is not the caller's)
  kNameList,    // names separated by commas ("mac,port-added"), sent as a list (checked by
                // the daemon)
};

// A positional argument: `metavar` in usage, `param` in the request.
struct ArgSpec {
  std::string_view metavar;
  std::string_view param;
  ValueType type = ValueType::kString;
  bool optional = false;
  std::string_view help;
};

// An option taking one value, given as `--flag VALUE` or `--flag=VALUE` (or, of type kFlag, no
// value: `--flag`).
struct OptionSpec {
  std::string_view flag;  // "--vlan"
  std::string_view metavar;
  std::string_view param;
  ValueType type = ValueType::kString;
  std::string_view help;
  // May be given several times; the values go as a list (--remote A --remote B).
  bool repeated = false;
};

// Renders a successful result as text ("" prints nothing).
using Renderer = std::string (*)(const nlohmann::json& result);

// A setting given as a `name value` pair after the arguments (set-port PORT max-macs 100).
struct SettingSpec {
  std::string_view name;  // "max-macs"
  std::string_view metavar;
  std::string_view param;
  ValueType type = ValueType::kString;
  std::string_view help;
};

struct CommandSpec {
  std::string_view name;  // also the JSON-RPC method
  std::string_view summary;
  std::vector<ArgSpec> args;  // required ones first
  std::vector<OptionSpec> options;
  Renderer render = nullptr;  // nullptr: a local command that calls no method (help)
  // When not empty, at least one `setting value` pair must follow the arguments.
  std::vector<SettingSpec> settings = {};
  // The JSON-RPC method, when it is not `name` (save calls show-config).
  std::string_view method = {};
  // Set for a streaming command (monitor): the method subscribes, and each event that follows is
  // rendered by this (its result is not printed).
  Renderer render_event = nullptr;
  // A streaming command that ends by itself: the name of the event after which it stops.
  std::string_view last_event = {};
};

// The method a command calls.
inline std::string_view MethodOf(const CommandSpec& command) {
  return command.method.empty() ? command.name : command.method;
}

// Every switchctl command, in the order `help` lists them.
std::span<const CommandSpec> Commands();

// The command named `name`, or nullptr.
const CommandSpec* FindCommand(std::string_view name);

// "add-mac MAC PORT [--vlan N]": the command's usage line, built from its table entry.
std::string Usage(const CommandSpec& command);

// The full help text (usage, options, every command with its summary), '\n'-terminated.
std::string HelpText();

// One command's help: its usage line, summary and the meaning of each argument and option.
std::string CommandHelp(const CommandSpec& command);

// What the command line asks for.
struct CommandLine {
  enum class Action {
    kCall,     // call `command`'s method with `params`
    kHelp,     // print help (for `command` if set, else all)
    kVersion,  // print switchctl's version
  };
  Action action = Action::kCall;
  std::string socket_path;  // protocol::kDefaultSocketPath unless --socket was given
  bool json = false;
  const CommandSpec* command = nullptr;
  nlohmann::json params = nlohmann::json::object();
  std::string output_file;  // a kOutputFile argument: write the result there
};

// Parses the arguments after argv[0]. Global options (--socket/-s PATH, --json/-j, --help/-h,
// --version) may come before or after the command; "--" ends option parsing. Returns the
// CommandLine, or a CtlError for a usage error (kUsage) or an invalid value (kFailure).
std::variant<CommandLine, CtlError> ParseCommandLine(std::span<const std::string_view> args);

// Converts one argument's text to its param value: a number for kVlan/kAgingTime, canonical text
// for kMac/kIp, the text itself otherwise. Returns a kFailure CtlError quoting `text` if invalid.
std::variant<nlohmann::json, CtlError> ParseValue(ValueType type, std::string_view text);

}  // namespace switchd::ctl
