// The switchctl program as a function: command line in, output and exit status out.
//
// Run parses the command line (commands.h), calls the daemon through a Caller (the real one is
// CallMethod in client.h; tests pass a fake), renders the result (render.h, or one line of JSON
// with --json) and maps every failure to one "switchctl: ..." line on `err` and an exit status
// (0 ok, 1 failure, 2 usage). It never throws. main() only wires it to argv, std::cout and
// std::cerr.
//
// A streaming command (monitor) subscribes through a Streamer instead (the real one is Subscribe
// in client.h) and prints each event as it comes, one line each (text, or its JSON with --json),
// flushed at once; it ends with 0 when interrupted, 1 when the daemon goes away.
#pragma once

#include <functional>
#include <ostream>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "switchd/core/status.h"

namespace switchd::ctl {

// Calls `method` with `params` on the daemon at `socket_path`; errors carry the line to print.
using Caller = std::function<Result<nlohmann::json>(
    std::string_view socket_path, std::string_view method, const nlohmann::json& params)>;

// Subscribes with `method` and `params` on the daemon at `socket_path` and calls `on_event` with
// each event until it returns false or the stream ends: Ok when interrupted, an error (with the
// line to print) when the daemon goes away or the subscription is refused.
using Streamer = std::function<Status(
    std::string_view socket_path, std::string_view method, const nlohmann::json& params,
    const std::function<bool(const nlohmann::json& event)>& on_event)>;

// Runs switchctl with `args` (argv without argv[0]). Writes the rendered result (or help, or the
// version, or the events of a streaming command) to `out` and an error to `err`, and returns the
// exit status.
int Run(std::span<const std::string_view> args, const Caller& call, const Streamer& stream,
        std::ostream& out, std::ostream& err);
// The same with no streaming: a streaming command fails.
int Run(std::span<const std::string_view> args, const Caller& call, std::ostream& out,
        std::ostream& err);

}  // namespace switchd::ctl
