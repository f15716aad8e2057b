"""Runs a command inside the sandbox that a systemd unit's [Service] section describes, as far as it can be
built without systemd as PID 1, so that tests can check that switchd still works under switchd.service's
hardening (test_install.py). Used as:

    setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,+CAPS... \\
        /usr/bin/python3 unit_sandbox.py UNIT_FILE -- ARGV...

setpriv applies CapabilityBoundingSet= and NoNewPrivileges=; this script then loads seccomp filters like
the ones systemd builds for (imported only there: service_settings needs nothing but the standard library)

  SystemCallFilter= (an allow list; groups expanded by `systemd-analyze syscall-filter`) with
      SystemCallErrorNumber=, clone3 refused with ENOSYS as systemd does when namespaces are restricted,
  RestrictAddressFamilies= (socket() with another family: EAFNOSUPPORT),
  RestrictNamespaces= (unshare/clone/setns with another namespace type: EPERM; setns with type 0: EPERM),
  MemoryDenyWriteExecute= (mmap/mprotect asking for PROT_WRITE|PROT_EXEC: EPERM),

and execs ARGV. Not emulated: DevicePolicy=/DeviceAllow= (a cgroup), ProtectHostname=, RestrictRealtime=,
RestrictSUIDSGID=, LockPersonality=, SystemCallArchitectures= (the filter covers the native ABI only, which is
what the latter allows). It needs Debian's python3-seccomp, hence /usr/bin/python3.
"""

import errno
import os
import socket
import subprocess
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
NAMESPACES = {
    "mnt": CLONE_NEWNS,
    "cgroup": CLONE_NEWCGROUP,
    "uts": CLONE_NEWUTS,
    "ipc": CLONE_NEWIPC,
    "user": CLONE_NEWUSER,
    "pid": CLONE_NEWPID,
    "net": CLONE_NEWNET,
}
PROT_WRITE = 0x2
PROT_EXEC = 0x4
AF_MAX = 46  # Linux 6.x; families above it are refused too


def service_settings(path):
    """The [Service] section as {key: [values]}, an empty assignment resetting the list, as systemd does."""
    settings = {}
    section = None
    with open(path) as f:
        for raw in f:
            line = raw.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("[") and line.endswith("]"):
                section = line[1:-1]
                continue
            if section != "Service" or "=" not in line:
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if value == "":
                settings[key] = []
            else:
                settings.setdefault(key, []).append(value)
    return settings


def expand_syscalls(names, seen=None):
    """Syscall names for a list of names and @groups (recursively, via systemd-analyze)."""
    seen = set() if seen is None else seen
    out = set()
    for name in names:
        if not name.startswith("@"):
            out.add(name)
            continue
        if name in seen:
            continue
        seen.add(name)
        text = subprocess.run(
            ["systemd-analyze", "syscall-filter", name], check=True, capture_output=True, text=True, timeout=30
        ).stdout
        members = []
        for line in text.splitlines()[1:]:  # the first line is the group's own name
            word = line.strip()
            if word and not word.startswith("#"):
                members.append(word)
        out |= expand_syscalls(members, seen)
    return out


def add_rule(flt, action, name, *args):
    """Adds a rule; a syscall this architecture does not have is skipped, as systemd skips it."""
    try:
        flt.add_rule(action, name, *args)
    except (RuntimeError, ValueError, OSError):
        pass


def build_filters(settings):
    import seccomp  # Debian package python3-seccomp (scripts/deps)

    allow = None
    words = " ".join(settings.get("SystemCallFilter", [])).split()
    if words:
        if words[0].startswith("~"):
            raise SystemExit("unit_sandbox: deny-list SystemCallFilter= is not emulated")
        err_name = (settings.get("SystemCallErrorNumber") or ["EPERM"])[-1]
        allow = seccomp.SyscallFilter(defaction=seccomp.ERRNO(getattr(errno, err_name)))
        for name in sorted(expand_syscalls(words)):
            add_rule(allow, seccomp.ALLOW, name)

    extra = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    families = " ".join(settings.get("RestrictAddressFamilies", [])).split()
    if families:
        allowed = {int(getattr(socket, f)) for f in families}
        for family in range(AF_MAX + 1):
            if family not in allowed:
                add_rule(extra, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.EQ, family))
        add_rule(extra, seccomp.ERRNO(errno.EAFNOSUPPORT), "socket", seccomp.Arg(0, seccomp.GT, AF_MAX))

    namespaces = " ".join(settings.get("RestrictNamespaces", [])).split()
    if namespaces and namespaces != ["no"]:
        retained = 0 if namespaces == ["yes"] else sum(NAMESPACES[n] for n in namespaces)
        for flag in NAMESPACES.values():
            if flag & retained:
                continue
            add_rule(extra, seccomp.ERRNO(errno.EPERM), "unshare", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
            add_rule(extra, seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
            add_rule(extra, seccomp.ERRNO(errno.EPERM), "setns", seccomp.Arg(1, seccomp.MASKED_EQ, flag, flag))
        add_rule(extra, seccomp.ERRNO(errno.EPERM), "setns", seccomp.Arg(1, seccomp.EQ, 0))
        add_rule(extra, seccomp.ERRNO(errno.ENOSYS), "clone3")

    if (settings.get("MemoryDenyWriteExecute") or ["no"])[-1] in ("yes", "true", "1", "on"):
        wx = PROT_WRITE | PROT_EXEC
        add_rule(extra, seccomp.ERRNO(errno.EPERM), "mmap", seccomp.Arg(2, seccomp.MASKED_EQ, wx, wx))
        add_rule(extra, seccomp.ERRNO(errno.EPERM), "mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
        add_rule(extra, seccomp.ERRNO(errno.EPERM), "pkey_mprotect", seccomp.Arg(2, seccomp.MASKED_EQ, PROT_EXEC, PROT_EXEC))
    return allow, extra


def main(argv):
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: unit_sandbox.py UNIT_FILE -- ARGV...\n")
        return 2
    settings = service_settings(argv[1])
    # The allow list last: loading the other filter needs seccomp(2), which the allow list refuses.
    allow_list, extra = build_filters(settings)
    extra.load()
    if allow_list is not None:
        allow_list.load()
    os.execv(argv[3], argv[3:])
    return 127


if __name__ == "__main__":
    sys.exit(main(sys.argv))
