// switchctl: the control tool for switchd. Everything but wiring lives in ctl/switchctl.h.
#include <iostream>
#include <string_view>
#include <vector>

#include "ctl/client.h"
#include "ctl/switchctl.h"

int main(int argc, char** argv) {
  const std::vector<std::string_view> args(argv + 1, argv + argc);
  const switchd::ctl::Caller call = [](std::string_view socket_path, std::string_view method,
                                       const nlohmann::json& params) {
    return switchd::ctl::CallMethod(socket_path, method, params);
  };
  const switchd::ctl::Streamer stream =
      [](std::string_view socket_path, std::string_view method, const nlohmann::json& params,
         const std::function<bool(const nlohmann::json&)>& on_event) {
        return switchd::ctl::Subscribe(socket_path, method, params, on_event);
      };
  return switchd::ctl::Run(args, call, stream, std::cout, std::cerr);
}
