#include "ctl/switchctl.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "ctl/commands.h"

namespace switchd::ctl {
namespace {

using nlohmann::json;

// Runs switchctl against a fake daemon that records the call and answers `answer`.
class SwitchctlTest : public ::testing::Test {
 protected:
  int Run(std::initializer_list<std::string_view> args) {
    const std::vector<std::string_view> v(args);
    const Caller call = [this](std::string_view socket_path, std::string_view method,
                               const json& params) -> Result<json> {
      ++calls_;
      socket_path_ = socket_path;
      method_ = method;
      params_ = params;
      if (throw_) throw std::runtime_error("boom");
      return answer_;
    };
    return ctl::Run(v, call, out_, err_);
  }

  Result<json> answer_ = json::object();
  bool throw_ = false;
  int calls_ = 0;
  std::string socket_path_;
  std::string method_;
  json params_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(SwitchctlTest, RendersTheResultAsText) {
  answer_ = json::parse(
      R"([{"mac": "02:00:00:00:00:01", "port": "tap0", "vlan": 1, "type": "dynamic", "age": 3}])");
  EXPECT_EQ(Run({"show-macs", "tap0"}), 0);
  EXPECT_EQ(socket_path_, "/run/switchd/switchd.sock");
  EXPECT_EQ(method_, "show-macs");
  EXPECT_EQ(params_, json({{"port", "tap0"}}));
  EXPECT_EQ(out_.str(),
            "PORT  VLAN  MAC                TYPE     AGE\n"
            "tap0     1  02:00:00:00:00:01  dynamic    3\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SwitchctlTest, JsonPrintsTheResultOnOneLine) {
  answer_ = json::parse(R"([{"mac": "02:00:00:00:00:01", "port": "tap0"}])");
  EXPECT_EQ(Run({"--json", "-s", "/tmp/x.sock", "show-macs"}), 0);
  EXPECT_EQ(socket_path_, "/tmp/x.sock");
  EXPECT_EQ(out_.str(), R"([{"mac":"02:00:00:00:00:01","port":"tap0"}])"
                        "\n");
}

TEST_F(SwitchctlTest, JsonPrintsEmptyResultsToo) {
  EXPECT_EQ(Run({"-j", "add-mac", "02:00:00:00:00:01", "tap0"}), 0);
  EXPECT_EQ(out_.str(), "{}\n");
}

TEST_F(SwitchctlTest, EmptyResultPrintsNothing) {
  EXPECT_EQ(Run({"add-mac", "02:00:00:00:00:01", "tap0"}), 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SwitchctlTest, DaemonErrorIsOneLineAndExitOne) {
  answer_ = Status::NotFound("unknown port 'tap9'");
  EXPECT_EQ(Run({"del-port", "tap9"}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "switchctl: unknown port 'tap9'\n");
}

TEST_F(SwitchctlTest, ConnectionErrorIsOneLineAndExitOne) {
  answer_ = Status::System(
      "cannot connect to /run/switchd/switchd.sock: No such file or directory (is switchd "
      "running?)");
  EXPECT_EQ(Run({"show-ports"}), 1);
  EXPECT_EQ(err_.str(),
            "switchctl: cannot connect to /run/switchd/switchd.sock: No such file or directory (is "
            "switchd running?)\n");
}

TEST_F(SwitchctlTest, UsageErrorExitsTwoWithoutCallingTheDaemon) {
  EXPECT_EQ(Run({"show-mac"}), 2);
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(),
            "switchctl: unknown command 'show-mac' (did you mean 'show-macs'? try 'switchctl "
            "help')\n");
}

TEST_F(SwitchctlTest, BadValueExitsOneWithoutCallingTheDaemon) {
  EXPECT_EQ(Run({"add-mac", "zz:00", "tap0"}), 1);
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(err_.str(), "switchctl: invalid MAC address 'zz:00' (expected aa:bb:cc:dd:ee:ff)\n");
}

TEST_F(SwitchctlTest, HelpAndVersionNeedNoDaemon) {
  EXPECT_EQ(Run({"help"}), 0);
  EXPECT_EQ(out_.str(), HelpText());
  out_.str("");
  EXPECT_EQ(Run({"help", "del-arp"}), 0);
  EXPECT_EQ(out_.str(), CommandHelp(*FindCommand("del-arp")));
  out_.str("");
  EXPECT_EQ(Run({"--version"}), 0);
  EXPECT_EQ(out_.str(), "switchctl 0.1.0\n");
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(err_.str(), "");
}

TEST_F(SwitchctlTest, VersionCommandAsksTheDaemon) {
  answer_ = json{{"version", "0.1.0"}};
  EXPECT_EQ(Run({"version"}), 0);
  EXPECT_EQ(method_, "version");
  EXPECT_EQ(out_.str(), "switchd 0.1.0\n");
}

TEST_F(SwitchctlTest, AnExceptionBecomesOneLine) {
  throw_ = true;
  EXPECT_EQ(Run({"show-ports"}), 1);
  EXPECT_EQ(err_.str(), "switchctl: internal error: boom\n");
}

TEST_F(SwitchctlTest, FailedOutputIsAFailure) {
  out_.setstate(std::ios::badbit);
  EXPECT_EQ(Run({"show-ports"}), 1);
  EXPECT_EQ(err_.str(), "switchctl: cannot write the output\n");
}

TEST_F(SwitchctlTest, SaveWritesTheRunningConfigurationToTheFile) {
  answer_ = json::parse(R"({"aging": 300, "ports": [{"name": "h1", "kind": "tap"}]})");
  const std::string path = ::testing::TempDir() + "switchctl_save_test.json";
  std::remove(path.c_str());
  EXPECT_EQ(Run({"save", path}), 0) << err_.str();
  EXPECT_EQ(method_, "show-config");
  EXPECT_EQ(params_, json::object());
  EXPECT_EQ(out_.str(), "");
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(json::parse(text.str()), *answer_);
  EXPECT_NE(text.str().find("\n  \"ports\""), std::string::npos) << "indented for people";
  std::remove(path.c_str());
}

TEST_F(SwitchctlTest, SaveToDashPrintsTheConfiguration) {
  answer_ = json::parse(R"({"ports": []})");
  EXPECT_EQ(Run({"save", "-"}), 0);
  EXPECT_EQ(json::parse(out_.str()), *answer_);
}

TEST_F(SwitchctlTest, SaveToAnUnwritablePathFailsWithOneLine) {
  answer_ = json::parse(R"({"ports": []})");
  EXPECT_EQ(Run({"save", "/nonexistent-dir/lab.json"}), 1);
  EXPECT_EQ(err_.str(),
            "switchctl: cannot write '/nonexistent-dir/lab.json': No such file or directory\n");
}

TEST_F(SwitchctlTest, SaveWritesNothingWhenTheDaemonFails) {
  answer_ = Status::NotFound("switchd is not running");
  const std::string path = ::testing::TempDir() + "switchctl_save_failed.json";
  std::remove(path.c_str());
  EXPECT_EQ(Run({"save", path}), 1);
  EXPECT_FALSE(std::ifstream(path).good());
}

// ---- Streaming (monitor).

// Runs switchctl with a fake stream that hands over `events_`, then ends with `end_`.
class MonitorTest : public ::testing::Test {
 protected:
  // Times print in the local time zone: UTC here, whatever the machine's.
  void SetUp() override {
    if (const char* tz = std::getenv("TZ")) saved_tz_ = tz;
    setenv("TZ", "UTC", 1);
    tzset();
  }
  void TearDown() override {
    if (saved_tz_) {
      setenv("TZ", saved_tz_->c_str(), 1);
    } else {
      unsetenv("TZ");
    }
    tzset();
  }

  int Run(std::initializer_list<std::string_view> args) {
    const std::vector<std::string_view> v(args);
    const Caller call = [this](std::string_view, std::string_view, const json&) -> Result<json> {
      ++calls_;
      return json::object();
    };
    const Streamer stream = [this](std::string_view socket_path, std::string_view method,
                                   const json& params,
                                   const std::function<bool(const json&)>& on_event) {
      socket_path_ = socket_path;
      method_ = method;
      params_ = params;
      for (const json& event : events_) {
        ++delivered_;
        if (!on_event(event)) return Status::Ok();
      }
      return end_;
    };
    return ctl::Run(v, call, stream, out_, err_);
  }

  std::vector<json> events_ = {
      json::parse(R"({"event":"port-added","kind":"tap","port":"h1",
                      "time":"2025-05-01T18:20:01.123Z"})"),
      json::parse(R"({"event":"mac-learned","mac":"02:00:00:00:00:01","port":"h1",
                      "time":"2025-05-01T18:20:01.124Z","vlan":1})"),
  };
  Status end_;
  int calls_ = 0;
  int delivered_ = 0;
  std::string socket_path_;
  std::string method_;
  json params_;
  std::ostringstream out_;
  std::ostringstream err_;
  std::optional<std::string> saved_tz_;
};

TEST_F(MonitorTest, PrintsEachEventAsOneLineUntilInterrupted) {
  EXPECT_EQ(Run({"-s", "/tmp/x.sock", "monitor", "port,mac"}), 0);
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(socket_path_, "/tmp/x.sock");
  EXPECT_EQ(method_, "monitor");
  EXPECT_EQ(params_, json({{"events", {"port", "mac"}}}));
  EXPECT_EQ(out_.str(),
            "18:20:01.123 port added h1 (tap)\n"
            "18:20:01.124 mac learned 02:00:00:00:00:01 vlan 1 port h1\n");
  EXPECT_EQ(err_.str(), "");
}

TEST_F(MonitorTest, JsonPrintsTheEventObjects) {
  EXPECT_EQ(Run({"monitor", "--json"}), 0);
  EXPECT_EQ(params_, json::object());
  EXPECT_EQ(out_.str(),
            R"({"event":"port-added","kind":"tap","port":"h1","time":"2025-05-01T18:20:01.123Z"})"
            "\n"
            R"({"event":"mac-learned","mac":"02:00:00:00:00:01","port":"h1",)"
            R"("time":"2025-05-01T18:20:01.124Z","vlan":1})"
            "\n");
}

TEST_F(MonitorTest, DaemonGoingAwayIsOneLineAndExitOne) {
  end_ = Status::System("/run/switchd/switchd.sock closed the connection");
  EXPECT_EQ(Run({"monitor", "-j"}), 1);
  const std::string out = out_.str();
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 2);
  EXPECT_EQ(err_.str(), "switchctl: /run/switchd/switchd.sock closed the connection\n");
}

TEST_F(MonitorTest, ARefusedSubscriptionPrintsNothingElse) {
  events_.clear();
  end_ = Status::InvalidArgument("unknown event 'fdb' (expected all, port, ...)");
  EXPECT_EQ(Run({"monitor", "fdb"}), 1);
  EXPECT_EQ(out_.str(), "");
  EXPECT_EQ(err_.str(), "switchctl: unknown event 'fdb' (expected all, port, ...)\n");
}

TEST_F(MonitorTest, StopsAtTheFirstFailedWrite) {
  out_.setstate(std::ios::badbit);
  EXPECT_EQ(Run({"monitor"}), 1);
  EXPECT_EQ(delivered_, 1);
  EXPECT_EQ(err_.str(), "switchctl: cannot write the output\n");
}

TEST_F(SwitchctlTest, MonitorNeedsAStreamingClient) {
  EXPECT_EQ(Run({"monitor"}), 1);
  EXPECT_EQ(calls_, 0);
  EXPECT_EQ(err_.str(), "switchctl: 'monitor' cannot stream here\n");
}

TEST_F(MonitorTest, CaptureEndsWithItsCaptureDoneEvent) {
  events_ = {json::parse(R"({"event": "capture-done", "port": "tap0", "file": "/tmp/t.pcap",
                             "frames": 5, "bytes": 370, "reason": "count"})"),
             json::parse(R"({"event": "port-added", "port": "h9", "time": "x"})")};
  EXPECT_EQ(Run({"capture", "tap0", "/tmp/t.pcap", "--count", "5"}), 0) << err_.str();
  EXPECT_EQ(method_, "capture");
  EXPECT_EQ(params_, json({{"port", "tap0"}, {"file", "/tmp/t.pcap"}, {"count", 5}}));
  EXPECT_EQ(delivered_, 1) << "the stream stops at capture-done";
  EXPECT_EQ(out_.str(), "captured 5 frames (370 bytes) of tap0 to /tmp/t.pcap: count reached\n");
}

}  // namespace
}  // namespace switchd::ctl
