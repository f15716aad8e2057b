// Named network namespaces, kept the way `ip netns` keeps them: a namespace NAME is a bind mount
// of the namespace's nsfs file at /run/netns/NAME, so that ip, ping and every other tool find it
// (`ip netns exec NAME ...`) and it lives until it is deleted, whoever created it.
#pragma once

#include <string>
#include <string_view>

#include "switchd/core/status.h"
#include "switchd/io/unique_fd.h"

namespace switchd {

inline constexpr const char* kNetnsDir = "/run/netns";

// A namespace name as `ip netns` accepts it: 1-255 characters, no '/', not "." or "..".
Status ValidateNetnsName(std::string_view name);
// Opens namespace `name`. kNotFound if there is none ("network namespace 'x' does not exist").
Result<UniqueFd> OpenNetns(const std::string& name);
// Creates namespace `name` (as `ip netns add` does) and opens it. kAlreadyExists if it exists.
Result<UniqueFd> CreateNetns(const std::string& name);
// Deletes namespace `name` (as `ip netns del` does): its mount goes; processes still inside keep
// it alive until they leave.
Status DeleteNetns(const std::string& name);

}  // namespace switchd
