// The switchctl program as a function: command line in, output and exit status out.
//
// Run parses the command line (commands.h), calls the daemon through a Caller (the real one is
// CallMethod in client.h; tests pass a fake), renders the result (render.h, or one line of JSON
// with --json) and maps every failure to one "switchctl: ..." line on `err` and an exit status
// (0 ok, 1 failure, 2 usage). It never throws. main() only wires it to argv, std::cout and
// std::cerr.
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

// Runs switchctl with `args` (argv without argv[0]). Writes the rendered result (or help, or the
// version) to `out` and an error to `err`, and returns the exit status.
int Run(std::span<const std::string_view> args, const Caller& call, std::ostream& out,
        std::ostream& err);

}  // namespace switchd::ctl
