#include "switchd/io/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace switchd {
namespace {

std::string PathOf(const std::string& name) { return std::string(kNetnsDir) + "/" + name; }

Status Errno(const std::string& what) { return Status::System(what + ": " + strerror(errno)); }

// /run/netns must be a shared mount, so that namespaces mounted under it show in every mount
// namespace (as iproute2 arranges it): bind it onto itself first if it is not a mount point.
Status PrepareNetnsDir() {
  if (mkdir(kNetnsDir, 0755) < 0 && errno != EEXIST) {
    return Errno(std::string("cannot create ") + kNetnsDir);
  }
  if (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) == 0) return Status::Ok();
  if (errno != EINVAL) return Errno(std::string("cannot share the mount ") + kNetnsDir);
  if (mount(kNetnsDir, kNetnsDir, "none", MS_BIND | MS_REC, nullptr) < 0) {
    return Errno(std::string("cannot bind-mount ") + kNetnsDir);
  }
  if (mount("", kNetnsDir, "none", MS_SHARED | MS_REC, nullptr) < 0) {
    return Errno(std::string("cannot share the mount ") + kNetnsDir);
  }
  return Status::Ok();
}

}  // namespace

Status ValidateNetnsName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == ".." ||
      name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return Status::InvalidArgument("invalid network namespace name '" + std::string(name) +
                                   "' (expected 1-255 characters, no '/', not . or ..)");
  }
  return Status::Ok();
}

Result<UniqueFd> OpenNetns(const std::string& name) {
  if (Status valid = ValidateNetnsName(name); !valid.ok()) return valid;
  UniqueFd fd(::open(PathOf(name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT) {
      return Status::NotFound("network namespace '" + name +
                              "' does not exist (create it with ip netns add, or ask switchd to: "
                              "--create-netns)");
    }
    return Errno("cannot open network namespace '" + name + "'");
  }
  return fd;
}

Result<UniqueFd> CreateNetns(const std::string& name) {
  if (Status valid = ValidateNetnsName(name); !valid.ok()) return valid;
  if (Status ready = PrepareNetnsDir(); !ready.ok()) return ready;
  const std::string path = PathOf(name);
  UniqueFd placeholder(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0));
  if (!placeholder) {
    if (errno == EEXIST) {
      return Status::AlreadyExists("network namespace '" + name + "' already exists");
    }
    return Errno("cannot create " + path);
  }
  placeholder.reset();
  UniqueFd home(::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC));
  if (!home) {
    unlink(path.c_str());
    return Errno("cannot open our network namespace");
  }
  // A new namespace for this thread, pinned by the bind mount, then straight back home.
  if (unshare(CLONE_NEWNET) < 0) {
    Status error = Errno("cannot create network namespace '" + name + "'");
    unlink(path.c_str());
    return error;
  }
  const bool mounted =
      mount("/proc/thread-self/ns/net", path.c_str(), "none", MS_BIND, nullptr) == 0;
  const int mount_errno = errno;
  if (setns(home.get(), CLONE_NEWNET) < 0) {
    std::perror("switchd: cannot return to its network namespace");
    std::abort();
  }
  if (!mounted) {
    unlink(path.c_str());
    errno = mount_errno;
    return Errno("cannot bind-mount network namespace '" + name + "'");
  }
  return OpenNetns(name);
}

Status DeleteNetns(const std::string& name) {
  if (Status valid = ValidateNetnsName(name); !valid.ok()) return valid;
  const std::string path = PathOf(name);
  if (umount2(path.c_str(), MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
    return Errno("cannot unmount " + path);
  }
  if (unlink(path.c_str()) < 0 && errno != ENOENT) return Errno("cannot remove " + path);
  return Status::Ok();
}

}  // namespace switchd
