#include "ctl/switchctl.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <variant>

#include "ctl/commands.h"
#include "ctl/render.h"

namespace switchd::ctl {

namespace {

int Fail(std::ostream& err, ExitCode code, std::string_view message) {
  err << "switchctl: " << message << "\n";
  err.flush();
  return static_cast<int>(code);
}

int Write(std::ostream& out, std::ostream& err, std::string_view text) {
  out << text;
  out.flush();
  // A full disk or a closed pipe must not pass for success.
  if (!out) return Fail(err, ExitCode::kFailure, "cannot write the output");
  return static_cast<int>(ExitCode::kOk);
}

// Writes `text` to `path` through a temporary file renamed over it: a reader never sees half a
// file, and a failed write leaves an existing file as it was.
Status WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream file(temporary, std::ios::binary | std::ios::trunc);
    if (file) file << text;
    if (file) file.flush();
    if (!file) {
      const std::string reason = std::strerror(errno);
      std::remove(temporary.c_str());
      return Status::System("cannot write '" + path + "': " + reason);
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    std::remove(temporary.c_str());
    return Status::System("cannot write '" + path + "': " + reason);
  }
  return Status::Ok();
}

// Prints each event as it comes until the stream ends.
int Stream(const CommandLine& line, const Streamer& stream, std::ostream& out, std::ostream& err) {
  const Status status =
      stream(line.socket_path, line.command->name, line.params, [&](const nlohmann::json& event) {
        out << (line.json ? RenderJson(event) : line.command->render_event(event));
        out.flush();  // each line as it happens, also into a pipe
        const std::string_view last = line.command->last_event;
        if (!last.empty() && event.is_object() && event.value("event", "") == last) return false;
        return static_cast<bool>(out);
      });
  if (!status.ok()) return Fail(err, ExitCode::kFailure, status.message());
  if (!out) return Fail(err, ExitCode::kFailure, "cannot write the output");
  return static_cast<int>(ExitCode::kOk);
}

int RunOrThrow(std::span<const std::string_view> args, const Caller& call, const Streamer& stream,
               std::ostream& out, std::ostream& err) {
  auto parsed = ParseCommandLine(args);
  if (const auto* error = std::get_if<CtlError>(&parsed)) {
    return Fail(err, error->exit_code, error->message);
  }
  const CommandLine& line = std::get<CommandLine>(parsed);
  switch (line.action) {
    case CommandLine::Action::kHelp:
      return Write(out, err, line.command != nullptr ? CommandHelp(*line.command) : HelpText());
    case CommandLine::Action::kVersion:
      return Write(out, err, "switchctl " SWITCHD_VERSION "\n");
    case CommandLine::Action::kCall:
      break;
  }
  if (line.command->render_event != nullptr) return Stream(line, stream, out, err);
  const Result<nlohmann::json> result =
      call(line.socket_path, MethodOf(*line.command), line.params);
  // Every failure, whatever its cause (daemon error, no daemon, timeout), exits 1.
  if (!result.ok()) return Fail(err, ExitCode::kFailure, result.status().message());
  const std::string text = line.json ? RenderJson(*result) : line.command->render(*result);
  if (!line.output_file.empty() && line.output_file != "-") {
    // The client writes the file, as the user running it: the daemon (root) never writes where
    // a member of the socket's group tells it to.
    if (Status written = WriteFileAtomically(line.output_file, text); !written.ok()) {
      return Fail(err, ExitCode::kFailure, written.message());
    }
    return static_cast<int>(ExitCode::kOk);
  }
  return Write(out, err, text);
}

}  // namespace

int Run(std::span<const std::string_view> args, const Caller& call, const Streamer& stream,
        std::ostream& out, std::ostream& err) {
  try {
    return RunOrThrow(args, call, stream, out, err);
  } catch (const std::exception& e) {
    // Only a bug (or std::bad_alloc) gets here; still one line, never a stack trace.
    return Fail(err, ExitCode::kFailure, std::string("internal error: ") + e.what());
  }
}

int Run(std::span<const std::string_view> args, const Caller& call, std::ostream& out,
        std::ostream& err) {
  const Streamer no_stream = [](std::string_view, std::string_view method, const nlohmann::json&,
                                const std::function<bool(const nlohmann::json&)>&) {
    return Status::Internal("'" + std::string(method) + "' cannot stream here");
  };
  return Run(args, call, no_stream, out, err);
}

}  // namespace switchd::ctl
