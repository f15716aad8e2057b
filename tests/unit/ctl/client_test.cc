#include "ctl/client.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace switchd::ctl {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A private directory for sockets, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ctl_test.XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() {
    for (const std::string& file : files_) ::unlink(file.c_str());
    ::rmdir(path_.c_str());
  }
  std::string File(const std::string& name) {
    files_.push_back(path_ + "/" + name);
    return files_.back();
  }

 private:
  std::string path_;
  std::vector<std::string> files_;
};

int ListeningSocket(const std::string& path, int backlog) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::listen(fd, backlog), 0);
  return fd;
}

// Blocks until `fd` is readable, for at most 5 s so a broken test cannot hang.
bool Readable(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  return ::poll(&pfd, 1, 5000) == 1;
}

// What the fake daemon does with a request.
struct Behaviour {
  std::string reply;  // written as-is (include the "\n")
  bool hang = false;  // after replying, keep the connection open until the client closes it
};

// A one-connection daemon on a private socket, in a thread: reads one request line, then
// behaves as told by `respond`.
class FakeDaemon {
 public:
  explicit FakeDaemon(std::function<Behaviour(const std::string& request)> respond)
      : path_(dir_.File("switchd.sock")), listener_(ListeningSocket(path_, 4)) {
    thread_ = std::thread([this, respond] { Serve(respond); });
  }
  ~FakeDaemon() {
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  const std::string& path() const { return path_; }
  // The request line received (without the newline); valid once the client call returned.
  std::string request() {
    if (thread_.joinable()) thread_.join();
    return request_;
  }

 private:
  void Serve(const std::function<Behaviour(const std::string&)>& respond) {
    if (!Readable(listener_)) return;
    const int fd = ::accept(listener_, nullptr, nullptr);
    char c;
    while (Readable(fd) && ::read(fd, &c, 1) == 1 && c != '\n') request_ += c;
    const Behaviour behaviour = respond(request_);
    size_t sent = 0;
    while (sent < behaviour.reply.size()) {
      const ssize_t n =
          ::send(fd, behaviour.reply.data() + sent, behaviour.reply.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    if (behaviour.hang) {
      while (Readable(fd) && ::read(fd, &c, 1) == 1) {
      }
    }
    ::close(fd);
  }

  TempDir dir_;
  std::string path_;
  int listener_;
  std::string request_;
  std::thread thread_;
};

Behaviour Reply(const json& response) { return {response.dump() + "\n"}; }

TEST(ClientTest, SendsOneJsonRpcRequestAndReturnsTheResult) {
  FakeDaemon daemon([](const std::string&) {
    return Reply({{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"flushed", 2}}}});
  });
  auto result = CallMethod(daemon.path(), "flush-macs", {{"port", "tap0"}});
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, json({{"flushed", 2}}));
  EXPECT_EQ(json::parse(daemon.request()), json({{"jsonrpc", "2.0"},
                                                 {"id", 1},
                                                 {"method", "flush-macs"},
                                                 {"params", {{"port", "tap0"}}}}));
}

TEST(ClientTest, ReadsAReplyLargerThanOneRead) {
  json rows = json::array();
  for (int i = 0; i < 5000; ++i) {
    rows.push_back({{"mac", "02:00:00:00:00:01"}, {"port", "tap" + std::to_string(i)}});
  }
  FakeDaemon daemon([&](const std::string&) {
    return Reply({{"jsonrpc", "2.0"}, {"id", 1}, {"result", rows}});
  });
  auto result = CallMethod(daemon.path(), "show-macs", json::object());
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ(*result, rows);
}

TEST(ClientTest, ReturnsTheDaemonsErrorMessageAndCode) {
  FakeDaemon daemon([](const std::string&) {
    return Reply({{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"error", {{"code", -32001}, {"message", "unknown port 'tap9'"}}}});
  });
  auto result = CallMethod(daemon.path(), "del-port", {{"name", "tap9"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(result.status().message(), "unknown port 'tap9'");
}

TEST(ClientTest, ReportsAMissingDaemonExactly) {
  TempDir dir;
  const std::string path = dir.File("nobody.sock");
  auto result = CallMethod(path, "show-ports", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), ErrorCode::kSystem);
  EXPECT_EQ(result.status().message(),
            "cannot connect to " + path + ": No such file or directory (is switchd running?)");
}

TEST(ClientTest, ReportsAStaleSocketAsRefused) {
  TempDir dir;
  const std::string path = dir.File("stale.sock");
  ::close(ListeningSocket(path, 1));  // the file stays, nobody listens
  auto result = CallMethod(path, "show-ports", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "cannot connect to " + path + ": Connection refused (is switchd running?)");
}

TEST(ClientTest, ReportsATooLongPath) {
  const std::string path = "/tmp/" + std::string(200, 'x');
  auto result = CallMethod(path, "show-ports", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "cannot connect to " + path + ": File name too long");
}

TEST(ClientTest, GivesUpOnADaemonThatNeverReplies) {
  FakeDaemon daemon([](const std::string&) { return Behaviour{"", /*hang=*/true}; });
  const auto start = std::chrono::steady_clock::now();
  auto result = CallMethod(daemon.path(), "show-ports", json::object(), {.timeout = 100ms});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "no reply from " + daemon.path() + " within 100 ms");
  EXPECT_GE(elapsed, 100ms);
  EXPECT_LT(elapsed, 2s);
}

TEST(ClientTest, GivesUpOnADaemonThatNeverAccepts) {
  TempDir dir;
  const std::string path = dir.File("busy.sock");
  const int listener = ListeningSocket(path, 0);
  // With a backlog of 0 the first connection fills the queue; the next connect has to wait.
  const int first = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  path.copy(address.sun_path, sizeof(address.sun_path) - 1);
  ASSERT_EQ(::connect(first, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);

  const auto start = std::chrono::steady_clock::now();
  auto result = CallMethod(path, "show-ports", json::object(), {.timeout = 100ms});
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), "no reply from " + path + " within 100 ms");
  ::close(first);
  ::close(listener);
}

TEST(ClientTest, ReportsAConnectionClosedWithoutReply) {
  FakeDaemon daemon([](const std::string&) { return Behaviour{}; });
  auto result = CallMethod(daemon.path(), "show-ports", json::object());
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(), daemon.path() + " closed the connection without a reply");
}

TEST(ClientTest, RejectsAnOversizedReply) {
  FakeDaemon daemon([](const std::string&) {
    return Behaviour{std::string(100, 'x') + "\n", /*hang=*/true};
  });
  auto result = CallMethod(daemon.path(), "show-ports", json::object(),
                           {.timeout = 1s, .max_reply_size = 10});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().message(),
            "invalid reply from " + daemon.path() + ": longer than 10 bytes");
}

TEST(ClientTest, FormatsTimeouts) {
  EXPECT_EQ(FormatTimeout(5000ms), "5 s");
  EXPECT_EQ(FormatTimeout(200ms), "200 ms");
  EXPECT_EQ(FormatTimeout(1500ms), "1500 ms");
}

TEST(ClientTest, EncodesARequestLine) {
  EXPECT_EQ(EncodeRequest("add-mac", {{"mac", "02:00:00:00:00:01"}, {"port", "tap0"}}),
            R"({"id":1,"jsonrpc":"2.0","method":"add-mac",)"
            R"("params":{"mac":"02:00:00:00:00:01","port":"tap0"}})");
  EXPECT_EQ(EncodeRequest("show-ports", nullptr),
            R"({"id":1,"jsonrpc":"2.0","method":"show-ports","params":{}})");
  // Invalid UTF-8 from argv is replaced, not thrown on.
  EXPECT_NE(EncodeRequest("del-port", {{"name", "t\xff"}}).find("t\xef\xbf\xbd"),
            std::string::npos);
}

TEST(ClientTest, DecodesResponses) {
  auto ok = DecodeResponse(R"({"jsonrpc":"2.0","id":1,"result":[]})", "/s");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, json::array());

  struct Case {
    std::string line;
    ErrorCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"nope", ErrorCode::kSystem, "invalid reply from /s: not JSON"},
      {"[1]", ErrorCode::kSystem, "invalid reply from /s: not a JSON-RPC response"},
      {R"({"jsonrpc":"2.0","id":1})", ErrorCode::kSystem,
       "invalid reply from /s: neither result nor error"},
      {R"({"jsonrpc":"2.0","id":2,"result":{}})", ErrorCode::kSystem,
       "invalid reply from /s: response id does not match the request's"},
      {R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error at byte 5"}})",
       ErrorCode::kInternal, "parse error at byte 5"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32602,"message":"bad\nvlan"}})",
       ErrorCode::kInvalidArgument, "bad?vlan"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32002,"message":"port 'tap0' already exists"}})",
       ErrorCode::kAlreadyExists, "port 'tap0' already exists"},
      {R"({"jsonrpc":"2.0","id":1,"error":{"code":-32003}})", ErrorCode::kResourceExhausted,
       "error -32003 from /s with no message"},
      {R"({"jsonrpc":"2.0","id":1,"error":"boom"})", ErrorCode::kInternal,
       "error 0 from /s with no message"},
  };
  for (const Case& c : cases) {
    auto result = DecodeResponse(c.line, "/s");
    ASSERT_FALSE(result.ok()) << c.line;
    EXPECT_EQ(result.status().code(), c.code) << c.line;
    EXPECT_EQ(result.status().message(), c.message);
  }
}

// ---- Subscriptions (monitor).

std::string Notification(const json& params) {
  return json{{"jsonrpc", "2.0"}, {"method", "event"}, {"params", params}}.dump() + "\n";
}

const json kSubscribed = {{"jsonrpc", "2.0"}, {"id", 1}, {"result", {{"events", {"port-up"}}}}};

// Collects the events Subscribe hands over.
struct Events {
  std::vector<json> got;
  std::function<bool(const json&)> Collector() {
    return [this](const json& event) {
      got.push_back(event);
      return true;
    };
  }
};

TEST(SubscribeTest, HandsOverEachEventUntilTheDaemonGoesAway) {
  // The response and the first events in one write, as a busy daemon may send them.
  FakeDaemon daemon([](const std::string&) {
    return Behaviour{kSubscribed.dump() + "\n" + Notification({{"event", "port-up"}}) +
                     R"({"jsonrpc":"2.0","method":"something-new","params":{}})" + "\n" +
                     Notification({{"event", "port-down"}})};
  });
  Events events;
  const Status status =
      Subscribe(daemon.path(), "monitor", {{"events", {"port"}}}, events.Collector());
  EXPECT_EQ(status.code(), ErrorCode::kSystem);
  EXPECT_EQ(status.message(), daemon.path() + " closed the connection");
  EXPECT_EQ(events.got, (std::vector<json>{{{"event", "port-up"}}, {{"event", "port-down"}}}));
  EXPECT_EQ(json::parse(daemon.request()).at("method"), "monitor");
}

TEST(SubscribeTest, ReturnsTheDaemonsRefusal) {
  FakeDaemon daemon([](const std::string&) {
    return Reply({{"jsonrpc", "2.0"},
                  {"id", 1},
                  {"error", {{"code", -32602}, {"message", "unknown event 'fdb'"}}}});
  });
  Events events;
  const Status status = Subscribe(daemon.path(), "monitor", json::object(), events.Collector());
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "unknown event 'fdb'");
  EXPECT_TRUE(events.got.empty());
}

TEST(SubscribeTest, TheResponseIsBoundedByTheTimeout) {
  FakeDaemon daemon([](const std::string&) { return Behaviour{"", /*hang=*/true}; });
  Events events;
  const Status status =
      Subscribe(daemon.path(), "monitor", json::object(), events.Collector(), {.timeout = 100ms});
  EXPECT_EQ(status.message(), "no reply from " + daemon.path() + " within 100 ms");
}

TEST(SubscribeTest, StopsWhenTheCallbackSaysSo) {
  FakeDaemon daemon([](const std::string&) {
    return Behaviour{
        kSubscribed.dump() + "\n" + Notification({{"n", 1}}) + Notification({{"n", 2}}),
        /*hang=*/true};
  });
  int calls = 0;
  const Status status = Subscribe(daemon.path(), "monitor", json::object(), [&](const json&) {
    ++calls;
    return false;
  });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(calls, 1);
}

TEST(SubscribeTest, RefusesALineThatIsNotJson) {
  FakeDaemon daemon(
      [](const std::string&) { return Behaviour{kSubscribed.dump() + "\nnonsense\n"}; });
  Events events;
  const Status status = Subscribe(daemon.path(), "monitor", json::object(), events.Collector());
  EXPECT_EQ(status.message(),
            "invalid reply from " + daemon.path() + ": a notification that is not a JSON object");
}

// The disposition of SIGINT, to check it is restored.
void (*SigintHandler())(int) {
  struct sigaction current {};
  sigaction(SIGINT, nullptr, &current);
  return current.sa_handler;
}

bool SigintPending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGINT) == 1;
}

TEST(SubscribeTest, SigintWhileWaitingEndsItCleanly) {
  FakeDaemon daemon([](const std::string&) {
    return Behaviour{kSubscribed.dump() + "\n" + Notification({{"n", 1}}), /*hang=*/true};
  });
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;  // so that a stray SIGINT cannot end the test binary
  struct sigaction before {};
  sigaction(SIGINT, &ignore, &before);
  const pthread_t me = pthread_self();
  std::thread interrupter;
  Events events;
  const auto start = std::chrono::steady_clock::now();
  const Status status = Subscribe(daemon.path(), "monitor", json::object(), [&](const json& e) {
    events.got.push_back(e);
    // Interrupt a little later, while Subscribe waits for more.
    interrupter = std::thread([me] {
      std::this_thread::sleep_for(100ms);
      pthread_kill(me, SIGINT);
    });
    return true;
  });
  if (interrupter.joinable()) interrupter.join();
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(events.got.size(), 1u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(SigintHandler(), SIG_IGN);  // the handler it found is back
  EXPECT_FALSE(SigintPending());
  sigaction(SIGINT, &before, nullptr);
}

TEST(SubscribeTest, SigintWhileEventsKeepComingEndsItToo) {
  // A signal that arrives while there is always more to read (it stays blocked then): no event
  // is handed over after it.
  std::string flood = kSubscribed.dump() + "\n";
  for (int i = 0; i < 2000; ++i) flood += Notification({{"n", i}});
  FakeDaemon daemon([&](const std::string&) { return Behaviour{flood, /*hang=*/true}; });
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  struct sigaction before {};
  sigaction(SIGINT, &ignore, &before);
  int calls = 0;
  const Status status = Subscribe(daemon.path(), "monitor", json::object(), [&](const json&) {
    if (++calls == 10) pthread_kill(pthread_self(), SIGINT);
    return true;
  });
  EXPECT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(calls, 10);  // not one event more
  EXPECT_EQ(SigintHandler(), SIG_IGN);
  EXPECT_FALSE(SigintPending());
  sigaction(SIGINT, &before, nullptr);
}

}  // namespace
}  // namespace switchd::ctl
