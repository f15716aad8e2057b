"""Installation: `cmake --install` puts the binaries, man pages, bash completion, systemd unit and example
configuration in place; the man pages render without warnings and cover every option and command; the unit
passes `systemd-analyze verify`, and switchd works inside the sandbox the unit describes; the completion offers
switchctl's commands, options, values and the running switch's ports.

The build directory comes from SWITCHD_BUILD_DIR (set by CMake for ctest), else the parent of SWITCHD's
directory. Needs groff, man-db, systemd (systemd-analyze), util-linux (setpriv) and Debian's
python3-seccomp for /usr/bin/python3: scripts/deps installs them.
"""

import grp
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

BUILD_DIR = os.environ.get("SWITCHD_BUILD_DIR") or os.path.dirname(os.path.dirname(os.path.abspath(harness.SWITCHD)))
SANDBOX = os.path.join(harness.HERE, "unit_sandbox.py")
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, for python3-seccomp
CAPABILITIES = {"CAP_CHOWN": 0, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_ADMIN": 12,
                "CAP_NET_RAW": 13, "CAP_SYS_ADMIN": 21}

FILES = [
    "bin/switchd",
    "bin/switchctl",
    "share/man/man8/switchd.8",
    "share/man/man8/switchctl.8",
    "share/bash-completion/completions/switchctl",
    "lib/systemd/system/switchd.service",
    "share/doc/switchd/switchd.json",
]
SOURCES = {
    "share/man/man8/switchd.8": "docs/man/switchd.8",
    "share/man/man8/switchctl.8": "docs/man/switchctl.8",
    "share/bash-completion/completions/switchctl": "completion/switchctl",
    "share/doc/switchd/switchd.json": "dist/switchd.json",
}


def install(prefix, destdir=None):
    """Runs cmake --install of the build directory; returns its output."""
    env = dict(os.environ)
    env.pop("DESTDIR", None)
    if destdir:
        env["DESTDIR"] = destdir
    p = subprocess.run(
        ["cmake", "--install", BUILD_DIR, "--prefix", prefix],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        env=env,
    )
    if p.returncode != 0:
        raise AssertionError("cmake --install %s --prefix %s failed (rc %d):\n%s" % (BUILD_DIR, prefix, p.returncode, p.stdout))
    return p.stdout


def sanitized_build():
    with open(os.path.join(BUILD_DIR, "CMakeCache.txt")) as f:
        return re.search(r"^SWITCHD_SANITIZE:BOOL=ON$", f.read(), re.M) is not None


def sandbox_argv(bounding_set, unit):
    """The command that runs what follows it under the unit's sandbox (unit_sandbox.py), with the given
    capability bounding set (setpriv's syntax)."""
    argv = []
    if sanitized_build():
        # LeakSanitizer stops the threads with ptrace(2) at exit, which the unit's system call filter
        # refuses, as it should; the other integration tests look for leaks.
        options = os.environ.get("ASAN_OPTIONS", "")
        argv = ["env", "ASAN_OPTIONS=%s%sdetect_leaks=0" % (options, ":" if options else "")]
    return argv + [
        "setpriv", "--no-new-privs", "--inh-caps=-all", "--bounding-set=" + bounding_set,
        SYSTEM_PYTHON, SANDBOX, unit, "--",
    ]


def unit_settings(path):
    """The [Service] section of a unit as {key: [values]} (an empty assignment resets the list)."""
    import unit_sandbox  # noqa: E402 - its parser needs only the standard library

    return unit_sandbox.service_settings(path)


def help_commands(switchctl):
    """The command names listed by `switchctl help`."""
    rc, out, err = harness.run([switchctl, "help"], timeout=10)
    assert rc == 0, err
    names = re.findall(r"^  ([a-z][a-z0-9-]*)", out.split("\ncommands:\n", 1)[1], re.M)
    assert len(names) >= 10, out
    return names


def help_options(switchctl, command):
    """The options (flag, metavar or None) that `switchctl help COMMAND` lists."""
    rc, out, err = harness.run([switchctl, "help", command], timeout=10)
    assert rc == 0, err
    options = []
    for m in re.finditer(r"^  (--[a-z0-9-]+)(?: (\S+))?(?:  |$)", out, re.M):
        options.append((m.group(1), m.group(2)))
    return options


class InstallTest(harness.SwitchTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.path.exists(os.path.join(BUILD_DIR, "CMakeCache.txt")):
            raise AssertionError("not a CMake build directory: %s (set SWITCHD_BUILD_DIR)" % BUILD_DIR)
        cls.root = tempfile.mkdtemp(prefix="switchd-install-")
        cls.prefix = os.path.join(cls.root, "prefix")
        cls.install_log = install(cls.prefix)
        cls.switchd = os.path.join(cls.prefix, "bin", "switchd")
        cls.switchctl = os.path.join(cls.prefix, "bin", "switchctl")
        cls.unit = os.path.join(cls.prefix, "lib", "systemd", "system", "switchd.service")
        cls.completion = os.path.join(cls.prefix, "share", "bash-completion", "completions", "switchctl")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.root, ignore_errors=True)
        super().tearDownClass()

    # -- the files -----------------------------------------------------------------------------

    def test_install_puts_every_file_in_place(self):
        for rel in FILES:
            path = os.path.join(self.prefix, rel)
            self.assertTrue(os.path.isfile(path), "%s not installed\n%s" % (rel, self.install_log))
        for binary in ("switchd", "switchctl"):
            path = os.path.join(self.prefix, "bin", binary)
            self.assertTrue(os.access(path, os.X_OK), "%s is not executable" % path)
            rc, out, err = harness.run([path, "--version"], timeout=10)
            self.assertEqual((rc, out.strip()), (0, "%s 0.1.0" % binary), err)
        for rel, source in SOURCES.items():
            with open(os.path.join(self.prefix, rel), "rb") as a, open(os.path.join(harness.REPO, source), "rb") as b:
                self.assertEqual(a.read(), b.read(), "%s differs from %s" % (rel, source))
        with open(os.path.join(self.prefix, "share/doc/switchd/switchd.json")) as f:
            json.load(f)

    def test_unit_names_the_installed_switchd(self):
        settings = unit_settings(self.unit)
        self.assertEqual(settings["ExecStart"], ["%s --config /etc/switchd/switchd.json" % self.switchd])
        with open(self.unit) as f:
            text = f.read()
        self.assertNotIn("@", text.replace("@system-service", "").replace("@mount", ""), "unsubstituted @VAR@")
        self.assertIn("install -D -m 0644 %s/share/doc/switchd/switchd.json /etc/switchd/switchd.json" % self.prefix, text)

    def test_destdir_install_writes_the_final_paths(self):
        destdir = os.path.join(self.root, "stage")
        install("/usr", destdir=destdir)
        for rel in FILES:
            path = os.path.join(destdir, "usr", rel)
            self.assertTrue(os.path.isfile(path), "%s not staged under DESTDIR" % path)
        settings = unit_settings(os.path.join(destdir, "usr/lib/systemd/system/switchd.service"))
        self.assertEqual(settings["ExecStart"], ["/usr/bin/switchd --config /etc/switchd/switchd.json"])

    # -- man pages -----------------------------------------------------------------------------

    def man_text(self, name):
        env = dict(os.environ, MANWIDTH="200", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
        p = subprocess.run(
            ["man", "--warnings", "-l", os.path.join(self.prefix, "share/man/man8", name)],
            capture_output=True, text=True, timeout=30, env=env,
        )
        self.assertEqual((p.returncode, p.stderr), (0, ""), "man --warnings -l %s" % name)
        # Plain text: no overstrike bold or underline.
        return re.sub(r".\x08", "", p.stdout)

    def test_man_pages_render_without_warnings(self):
        for name in ("switchd.8", "switchctl.8"):
            path = os.path.join(self.prefix, "share/man/man8", name)
            p = subprocess.run(["groff", "-man", "-ww", "-z", path], capture_output=True, text=True, timeout=30)
            self.assertEqual((p.returncode, p.stderr), (0, ""), "groff -man -ww -z %s" % name)
            text = self.man_text(name)
            sections = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "FILES", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
            if name == "switchctl.8":
                sections.append("COMMANDS")
            for section in sections:
                self.assertRegex(text, r"(?m)^%s$" % section, "%s has no %s section" % (name, section))
            for ref in ("ip(8)", "bridge(8)", "qemu(1)"):
                self.assertIn(ref, text.split("\nSEE ALSO\n", 1)[1], "%s: SEE ALSO lacks %s" % (name, ref))
            # The version in the page's footer is the program's.
            self.assertRegex(text, r"switchd 0\.1\.0")

    def test_switchd_man_page_covers_every_option(self):
        text = self.man_text("switchd.8")
        options = text.split("\nOPTIONS\n", 1)[1].split("\nCONFIGURATION\n", 1)[0]
        rc, out, _ = harness.run([self.switchd, "--help"], timeout=10)
        self.assertEqual(rc, 0)
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-[a-zA-Z])\b", out))
        self.assertGreaterEqual(len(flags), 10, out)
        for flag in sorted(flags):
            self.assertRegex(options, r"(?m)^ {7}(.*[ ,])?%s\b" % re.escape(flag), "switchd.8 OPTIONS lacks %s" % flag)
        for flag in ("--metrics", "--config", "--port"):
            self.assertIn(flag, options)
        for kind in ("tap", "vm", "attach"):
            self.assertRegex(text, r"(?m)^ {7}%s\b" % kind, "switchd.8 does not describe the %s kind" % kind)

    def test_switchctl_man_page_covers_every_command_and_option(self):
        text = self.man_text("switchctl.8")
        commands = text.split("\nCOMMANDS\n", 1)[1].split("\nFILES\n", 1)[0]
        for command in help_commands(self.switchctl):
            self.assertRegex(commands, r"(?m)^ {7}%s\b" % re.escape(command), "switchctl.8 COMMANDS lacks %s" % command)
            for flag, _ in help_options(self.switchctl, command):
                self.assertRegex(commands, r"(?m)^ {7}(%s\b.*|\s+)%s\b" % (re.escape(command), re.escape(flag)),
                                 "switchctl.8 lacks %s's option %s" % (command, flag))
        for command in ("save", "show-config", "monitor"):
            self.assertRegex(commands, r"(?m)^ {7}%s\b" % command)
        options = text.split("\nOPTIONS\n", 1)[1].split("\nCOMMANDS\n", 1)[0]
        for flag in ("-s", "--socket", "-j", "--json", "-h", "--help", "--version"):
            self.assertRegex(options, r"(?m)^ {7}(.*[ ,])?%s\b" % re.escape(flag), "switchctl.8 OPTIONS lacks %s" % flag)

    # -- the systemd unit ----------------------------------------------------------------------

    def test_unit_passes_systemd_analyze_verify(self):
        self.assertIsNotNone(shutil.which("systemd-analyze"), "systemd-analyze missing (scripts/deps installs systemd)")
        # verify also runs `man` for Documentation=: the installed pages must be found there.
        env = dict(os.environ, MANPATH=os.path.join(self.prefix, "share", "man"))
        p = subprocess.run(["systemd-analyze", "verify", self.unit], capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual((p.returncode, p.stdout + p.stderr), (0, ""), "systemd-analyze verify %s" % self.unit)

    def test_unit_settings(self):
        s = unit_settings(self.unit)
        self.assertEqual(s["Type"], ["simple"])
        self.assertEqual(s["ExecReload"], ["/bin/kill -HUP $MAINPID"])
        self.assertEqual(s["RuntimeDirectory"], ["switchd"])
        self.assertEqual(s["Restart"], ["on-failure"])
        caps = " ".join(s["CapabilityBoundingSet"]).split()
        for cap in ("CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_SYS_ADMIN", "CAP_SETUID", "CAP_SETGID"):
            self.assertIn(cap, caps)
        self.assertIn("/dev/net/tun rw", s["DeviceAllow"])
        families = " ".join(s["RestrictAddressFamilies"]).split()
        for family in ("AF_UNIX", "AF_NETLINK", "AF_PACKET", "AF_INET"):
            self.assertIn(family, families)
        self.assertIn("net", " ".join(s["RestrictNamespaces"]).split())
        # A private mount namespace would hide the namespaces switchd creates under /run/netns from the host.
        for key in ("ProtectSystem", "PrivateTmp", "ProtectHome", "PrivateDevices", "PrivateMounts",
                    "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups",
                    "PrivateNetwork", "ReadWritePaths", "ReadOnlyPaths", "InaccessiblePaths", "TemporaryFileSystem"):
            self.assertNotIn(key, s, "%s= gives switchd a mount namespace of its own" % key)

    def sandboxed_daemon(self, ports, config, extra_args=()):
        """switchd from the installed tree, under the unit's capabilities, no_new_privs and seccomp filters."""
        self.assertTrue(os.access(SYSTEM_PYTHON, os.X_OK), "%s missing" % SYSTEM_PYTHON)
        rc, _, err = harness.run([SYSTEM_PYTHON, "-c", "import seccomp"], timeout=10)
        self.assertEqual(rc, 0, "python3-seccomp missing for %s (scripts/deps installs it): %s" % (SYSTEM_PYTHON, err))
        caps = " ".join(unit_settings(self.unit)["CapabilityBoundingSet"]).split()
        bounding = "-all," + ",".join("+" + c.lower().replace("cap_", "") for c in caps)
        d = harness.Daemon(self.socket_path, ports, ["--config", config] + list(extra_args))
        d.argv = sandbox_argv(bounding, self.unit) + [self.switchd] + d.argv[1:]
        self._my_daemons.append(d)
        return d.start()

    def test_switchd_works_inside_the_units_sandbox(self):
        # The installed example configuration, as the unit would read it, with this test's ports and socket.
        config = os.path.join(self.tmp.name, "switchd.json")
        shutil.copy(os.path.join(self.prefix, "share/doc/switchd/switchd.json"), config)
        taps = [harness.tap_name(), harness.tap_name()]
        group = grp.getgrnam("nogroup")  # root is not a member: giving it the socket needs CAP_CHOWN
        d = self.sandboxed_daemon(taps, config, ["--socket-group", group.gr_name])
        with open("/proc/%d/status" % d.proc.pid) as f:
            status = f.read()
        self.assertRegex(status, r"NoNewPrivs:\s+1")
        self.assertRegex(status, r"Seccomp:\s+2")
        expected = sum(1 << CAPABILITIES[c] for c in " ".join(unit_settings(self.unit)["CapabilityBoundingSet"]).split())
        self.assertEqual(int(re.search(r"CapBnd:\s+(\w+)", status).group(1), 16), expected)
        self.assertEqual(os.stat(self.socket_path).st_gid, group.gr_gid)

        # TAP ports from the command line and at run time, moved into namespaces: traffic flows.
        h1 = self.add_host(taps[0], 1)
        h2 = self.add_host(taps[1], 2)
        self.ping_ok(h1, h2.ip)
        third = harness.tap_name()
        harness._root_links.append(third)
        self.ctl_ok("add-port", third)
        h3 = self.add_host(third, 3)
        self.ping_ok(h3, h1.ip)
        self.ctl_ok("del-port", third)

        # Reload (what `systemctl reload` does): a port the file now lists is added.
        fourth = harness.tap_name()
        harness._root_links.append(fourth)
        with open(config) as f:
            doc = json.load(f)
        doc["ports"] = [fourth]
        with open(config, "w") as f:
            json.dump(doc, f)
        d.proc.send_signal(signal.SIGHUP)
        self.assertTrue(harness.wait_until(lambda: fourth in self.ports(), 5), d.log_tail())

        # Port kinds and namespace options, where this switchctl has them.
        _, add_port_help, _ = harness.run([self.switchctl, "help", "add-port"], timeout=10)
        if "--netns" in add_port_help:
            ns = harness.ns_name()
            harness._namespaces.append(ns)
            fifth = harness.tap_name()
            harness._root_links.append(fifth)
            self.ctl_ok("add-port", fifth, "--netns", ns, "--create-netns", "--address", "198.18.0.5/24")
            rc, out, err = harness.run(["ip", "-n", ns, "-o", "addr", "show", "dev", fifth], timeout=5)
            self.assertIn("198.18.0.5/24", out, "add-port --netns in the sandbox: %s%s\n%s" % (out, err, d.log_tail()))
            self.ping_ok(h1, "198.18.0.5")
        vm = harness.tap_name()
        harness._root_links.append(vm)
        rc, _, err = self.ctl("add-port", vm, "--kind", "vm")
        if "unsupported port kind" not in err:
            self.assertEqual(rc, 0, "add-port --kind vm in the sandbox: %s\n%s" % (err, d.log_tail()))

        self.assertEqual(d.stop(), 0, d.log_tail())
        self.assertFalse(os.path.exists(self.socket_path))
        self.assertNotIn("Operation not permitted", d.log(), d.log_tail())

    def test_sandbox_emulation_can_refuse(self):
        # The emulation is real: without CAP_NET_ADMIN in the bounding set switchd cannot create its TAP.
        config = os.path.join(self.tmp.name, "switchd.json")
        shutil.copy(os.path.join(self.prefix, "share/doc/switchd/switchd.json"), config)
        tap = harness.tap_name()
        d = harness.Daemon(self.socket_path, [tap], ["--config", config])
        d.argv = sandbox_argv("-all,+net_raw", self.unit) + [self.switchd] + d.argv[1:]
        self._my_daemons.append(d)
        d.start(wait=False)
        d.proc.wait(timeout=10)
        self.assertEqual(d.proc.returncode, 1, d.log_tail())
        self.assertIn("Operation not permitted", d.log())

    # -- bash completion -----------------------------------------------------------------------

    def complete(self, line, path=None):
        """Completes `line` (cursor at its end) as bash would: COMP_WORDS split at spaces and COMP_WORDBREAKS'
        '=' and ':', COMP_CWORD the last word; returns COMPREPLY."""
        words = re.findall(r"[=:]+|[^\s=:]+", line)
        if line == "" or line[-1].isspace():
            words.append("")
        script = (
            'source "$1"; shift; COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); '
            'COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _switchctl; printf "%s\\n" "${COMPREPLY[@]}"'
        )
        env = dict(os.environ, PATH=path or os.environ.get("PATH", ""))
        p = subprocess.run(
            ["bash", "--norc", "--noprofile", "-c", script, "bash", self.completion, line] + words,
            capture_output=True, text=True, timeout=30, env=env,
        )
        self.assertEqual((p.returncode, p.stderr), (0, ""), "completing %r" % line)
        return [w for w in p.stdout.split("\n") if w]

    def test_completion_offers_commands_and_options(self):
        commands = help_commands(self.switchctl)
        sc = self.switchctl
        self.assertEqual(self.complete(sc + " "), commands)
        self.assertEqual(self.complete(sc + " --json "), commands)
        self.assertEqual(self.complete(sc + " show-m"), [c for c in commands if c.startswith("show-m")])
        # As typed, `switchctl` found on PATH.
        self.assertEqual(self.complete("switchctl ", path=os.path.dirname(sc) + ":/usr/bin:/bin"), commands)
        self.assertEqual(set(self.complete(sc + " --")), {"--socket", "--json", "--help", "--version"})
        for command in commands:
            options = [flag for flag, _ in help_options(sc, command)]
            offered = self.complete("%s %s --" % (sc, command))
            for flag in options:
                self.assertIn(flag, offered, "%s: option %s not offered" % (command, flag))
            self.assertIn("--json", offered)
        self.assertIn("--kind", self.complete(sc + " add-port tap9 --"))
        self.assertEqual(self.complete(sc + " help "), commands)
        self.assertEqual(self.complete(sc + " add-port tap9 --kind "), ["tap", "vm", "attach"])
        self.assertEqual(self.complete(sc + " add-port tap9 --kind=v"), ["vm"])
        self.assertEqual(self.complete(sc + " add-port tap9 --offload "), ["on", "off"])
        self.assertEqual(self.complete(sc + " add-port tap9 --offload=o"), ["on", "off"])
        self.assertEqual(self.complete(sc + " set-port tap0 storm-limit 10 "),
                         ["max-macs", "storm-limit", "access", "trunk", "native", "learning", "flood",
                          "bcast-flood", "mcast-flood", "isolated"])
        self.assertEqual(self.complete(sc + " set-port tap0 isolated "), ["on", "off"])
        self.assertEqual(self.complete(sc + " set-port tap0 max-macs 10 s"), ["storm-limit"])
        # A MAC address is one argument, even though bash splits it at ':'.
        self.assertEqual(self.complete(sc + " add-mac 02:00:00:00:00:01 tap0 --"),
                         ["--socket", "--json", "--help", "--version", "--vlan"])
        self.assertEqual(self.complete(sc + " set-aging "), [])

    def test_completion_offers_the_running_switchs_ports(self):
        taps = [harness.tap_name(), harness.tap_name()]
        self.start_daemon(taps)
        sc = self.switchctl
        for socket_option in ("--socket %s" % self.socket_path, "-s %s" % self.socket_path,
                              "--socket=%s" % self.socket_path):
            self.assertEqual(sorted(self.complete("%s %s del-port " % (sc, socket_option))), sorted(taps))
        s = "--socket " + self.socket_path
        self.assertEqual(sorted(self.complete("%s %s show-macs " % (sc, s))), sorted(taps))
        self.assertEqual(sorted(self.complete("%s show-macs %s " % (sc, s))), sorted(taps))  # socket after command
        self.assertEqual(self.complete("%s %s set-port %s" % (sc, s, taps[0])), [taps[0]])
        self.assertEqual(sorted(self.complete("%s %s add-mac 02:00:00:00:00:01 " % (sc, s))), sorted(taps))
        self.assertEqual(sorted(self.complete("%s %s flush-macs " % (sc, s))), sorted(taps))
        self.assertEqual(self.complete("%s %s add-mac 02:00:00:00:00:01 %s " % (sc, s, taps[0])), [])
        # add-port NAME offers interfaces that are not ports yet.
        new = harness.tap_name()
        harness._root_links.append(new)
        harness.ip("tuntap", "add", "dev", new, "mode", "tap")
        offered = self.complete("%s %s add-port " % (sc, s))
        self.assertIn(new, offered)
        self.assertNotIn(taps[0], offered)
        # The ports come from the daemon: a port added now is offered, a deleted one is not.
        self.ctl_ok("add-port", new)
        self.ctl_ok("del-port", taps[1])
        self.assertEqual(sorted(self.complete("%s %s del-port " % (sc, s))), sorted([taps[0], new]))
        # No daemon on the socket: nothing, quickly, and no error on the terminal.
        missing = os.path.join(self.tmp.name, "none.sock")
        self.assertEqual(self.complete("%s --socket %s del-port " % (sc, missing)), [])


if __name__ == "__main__":
    unittest.main()
