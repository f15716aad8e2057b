// ControlServer on a real unix socket in a temporary directory: framing, limits, start-up rules.
// No root needed. The loop is pumped in the test's thread, a bounded number of times.
#include "switchd/io/control_server.h"

#include <event2/event.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/control/protocol.h"
#include "switchd/io/unique_fd.h"

namespace switchd {
namespace {

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/switchd-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/sub/switchd.sock";
    base_.reset(event_base_new());
    server_ = std::make_unique<ControlServer>(
        base_.get(), [this](std::string_view line, ControlServer::ClientId client) {
          ++handled_;
          client_ = client;
          return handler_(line);
        });
  }
  void TearDown() override {
    server_.reset();
    std::filesystem::remove_all(dir_);
  }

  UniqueFd Connect() {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    Pump();  // accept
    return fd;
  }

  void Pump(int rounds = 4) {
    for (int i = 0; i < rounds; ++i) event_base_loop(base_.get(), EVLOOP_NONBLOCK);
  }

  // Pumps the loop until `fd` has `lines` complete lines or is closed; bounded.
  std::string ReadLines(int fd, int lines, bool* closed = nullptr) {
    std::string out;
    // Newlines are counted as they arrive: replies may add up to megabytes.
    ptrdiff_t seen = 0;
    for (int i = 0; i < 2000; ++i) {
      Pump(1);
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 1) == 1) {
        char buffer[65536];
        ssize_t n = read(fd, buffer, sizeof(buffer));
        if (n <= 0) {
          if (closed) *closed = true;
          return out;
        }
        seen += std::count(buffer, buffer + n, '\n');
        out.append(buffer, static_cast<size_t>(n));
      }
      if (seen >= lines && !closed) return out;
    }
    return out;
  }

  void WriteAll(int fd, std::string_view data) {
    size_t done = 0;
    for (int i = 0; i < 100000 && done < data.size(); ++i) {
      ssize_t n = send(fd, data.data() + done, data.size() - done, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) done += static_cast<size_t>(n);
      Pump(1);
    }
    ASSERT_EQ(done, data.size());
  }

  std::string dir_;
  std::string path_;
  EventBasePtr base_;
  std::unique_ptr<ControlServer> server_;
  int handled_ = 0;
  ControlServer::ClientId client_ = 0;  // the client of the last line handled
  std::function<std::optional<std::string>(std::string_view)> handler_ = [](std::string_view line) {
    return "echo:" + std::string(line);
  };
};

TEST_F(ControlServerTest, CreatesDirectoryAndSocketWithMode0660) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, CreatesMissingDirectoryTraversableWhateverTheUmask) {
  mode_t old_umask = umask(077);
  Status status = server_->Listen(path_);
  umask(old_umask);
  ASSERT_TRUE(status.ok()) << status.message();
  struct stat st {};
  ASSERT_EQ(stat((dir_ + "/sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0755u);
}

TEST_F(ControlServerTest, GivesSocketToGroup) {
  // A number with no name in /etc/group is taken as a gid. Only root may give a file to a group
  // it is not in; anyone else gets a clear error and no socket file.
  const gid_t gid = 64999;
  Status status = server_->Listen(path_, std::to_string(gid));
  if (geteuid() != 0) {
    EXPECT_EQ(status.code(), ErrorCode::kSystem);
    EXPECT_NE(status.message().find("cannot give " + path_ + " to group '64999'"),
              std::string::npos)
        << status.message();
    EXPECT_FALSE(std::filesystem::exists(path_));
    return;
  }
  ASSERT_TRUE(status.ok()) << status.message();
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_gid, gid);
  EXPECT_EQ(st.st_uid, geteuid());
  EXPECT_EQ(st.st_mode & 0777, 0660u);
}

TEST_F(ControlServerTest, UnknownGroupFailsBeforeCreatingAnything) {
  Status status = server_->Listen(path_, std::string("no-such-group-swd"));
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("unknown group 'no-such-group-swd' for the control socket"),
            std::string::npos)
      << status.message();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/sub"));
}

TEST_F(ControlServerTest, BacklogHoldsABurstOfClients) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  // Non-blocking connects that the loop has not accepted yet: each needs a backlog slot, else it
  // fails with EAGAIN.
  std::vector<UniqueFd> clients;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
  for (int i = 0; i < 200; ++i) {
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    ASSERT_EQ(connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0)
        << "client " << i << ": " << strerror(errno);
    clients.push_back(std::move(fd));
  }
  Pump(8);
  EXPECT_EQ(server_->client_count(), 200u);
}

TEST_F(ControlServerTest, AnswersEachLineInOrder) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  WriteAll(client.get(), "one\ntwo\r\n\nthree\n");
  EXPECT_EQ(ReadLines(client.get(), 3), "echo:one\necho:two\necho:three\n");
}

TEST_F(ControlServerTest, NotificationsGetNoResponse) {
  handler_ = [](std::string_view line) -> std::optional<std::string> {
    if (line == "quiet") return std::nullopt;
    return std::string(line);
  };
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  WriteAll(client.get(), "quiet\nloud\n");
  EXPECT_EQ(ReadLines(client.get(), 1), "loud\n");
}

TEST_F(ControlServerTest, AnswersLastLineWithoutNewlineAtEndOfInput) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  WriteAll(client.get(), "first\nlast");
  shutdown(client.get(), SHUT_WR);
  bool closed = false;
  EXPECT_EQ(ReadLines(client.get(), 2, &closed), "echo:first\necho:last\n");
  EXPECT_TRUE(closed);
}

TEST_F(ControlServerTest, OversizedLineGetsErrorAndConnectionCloses) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  std::string huge(2 * protocol::kMaxMessageSize, 'x');
  huge += "\n";
  // The server stops reading at the limit, so the rest of the line may never be taken.
  size_t sent = 0;
  for (int i = 0; i < 100000 && sent < huge.size(); ++i) {
    ssize_t n =
        send(client.get(), huge.data() + sent, huge.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
    if (n < 0 && errno != EAGAIN) break;  // the server closed the connection
    Pump(1);
  }
  bool closed = false;
  std::string reply = ReadLines(client.get(), 1, &closed);
  EXPECT_NE(reply.find("-32600"), std::string::npos) << reply;
  EXPECT_NE(reply.find("\"id\":null"), std::string::npos) << reply;
  EXPECT_TRUE(closed);
  EXPECT_EQ(handled_, 0);
  EXPECT_EQ(server_->client_count(), 0u);
}

TEST_F(ControlServerTest, ServesOtherClientsWhileOneSendsHalfALine) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd stalled = Connect();
  WriteAll(stalled.get(), "{\"jsonrpc\":");
  UniqueFd other = Connect();
  WriteAll(other.get(), "hello\n");
  EXPECT_EQ(ReadLines(other.get(), 1), "echo:hello\n");
  EXPECT_EQ(server_->client_count(), 2u);
}

TEST_F(ControlServerTest, StopsReadingFromClientThatDoesNotReadItsRepliesUntilItCatchesUp) {
  std::string big(1 << 20, 'r');
  handler_ = [&big](std::string_view) { return big; };
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  std::string requests;
  for (int i = 0; i < 16; ++i) requests += "q\n";
  WriteAll(client.get(), requests);
  Pump(20);
  // At most the pending-output bound (4 MiB) plus one reply is queued; the rest waits unread.
  EXPECT_LT(handled_, 16);
  EXPECT_EQ(server_->client_count(), 1u);
  // Once the client reads, every request is answered.
  std::string replies = ReadLines(client.get(), 16);
  EXPECT_EQ(handled_, 16);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), '\n'), 16);
}

TEST_F(ControlServerTest, AnswersAManyLineWriteAcrossSeveralWakeups) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  std::string requests;
  for (int i = 0; i < 200; ++i) requests += std::to_string(i) + "\n";
  WriteAll(client.get(), requests);
  std::string replies = ReadLines(client.get(), 200);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), '\n'), 200);
  EXPECT_NE(replies.find("echo:199\n"), std::string::npos);
}

TEST_F(ControlServerTest, AnswersEveryLineOfAClientThatClosesAfterWritingMany) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  std::string requests;
  for (int i = 0; i < 100; ++i) requests += std::to_string(i) + "\n";
  WriteAll(client.get(), requests);
  shutdown(client.get(), SHUT_WR);
  bool closed = false;
  std::string replies = ReadLines(client.get(), 100, &closed);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), '\n'), 100);
  EXPECT_TRUE(closed);
}

// Counts loop iterations with a zero-delay timer that re-arms itself while `keep_going` holds, and
// records how many lines the handler got in each: what one wake-up of the switch's loop does.
class IterationCounter {
 public:
  IterationCounter(event_base* base, std::function<bool()> keep_going)
      : keep_going_(std::move(keep_going)) {
    tick_.reset(evtimer_new(base, OnTick, this));
    Arm();
  }
  void CountLine() { ++lines_per_iteration_[iterations_]; }
  int MostLinesInOneIteration() const {
    int most = 0;
    for (const auto& [iteration, lines] : lines_per_iteration_) most = std::max(most, lines);
    return most;
  }
  size_t iterations_with_lines() const { return lines_per_iteration_.size(); }

 private:
  static void OnTick(int, short, void* arg) {
    auto* self = static_cast<IterationCounter*>(arg);
    ++self->iterations_;
    if (self->keep_going_()) self->Arm();
  }
  void Arm() {
    timeval zero{0, 0};
    evtimer_add(tick_.get(), &zero);
  }

  std::function<bool()> keep_going_;
  EventPtr tick_;
  int iterations_ = 0;
  std::map<int, int> lines_per_iteration_;
};

TEST_F(ControlServerTest, AnswersAClosedClientsLinesInBoundedBatches) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  IterationCounter counter(base_.get(), [this] { return handled_ < 1000; });
  handler_ = [&counter](std::string_view line) {
    counter.CountLine();
    return std::string(line);
  };
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += std::to_string(i) + "\n";
  // All of it is in the socket before the server looks: a burst, then end of input.
  ASSERT_EQ(send(client.get(), requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  shutdown(client.get(), SHUT_WR);
  bool closed = false;
  std::string replies = ReadLines(client.get(), 1000, &closed);
  EXPECT_EQ(std::count(replies.begin(), replies.end(), '\n'), 1000);
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->client_count(), 0u);
  EXPECT_LE(counter.MostLinesInOneIteration(), ControlServer::kMaxLinesPerWakeup);
}

TEST_F(ControlServerTest, SlowRequestsAreSpreadOverWakeups) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  IterationCounter counter(base_.get(), [this] { return handled_ < 8; });
  handler_ = [&counter](std::string_view line) {
    counter.CountLine();
    // A request that costs about a millisecond (a large show-macs, say).
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    while (std::chrono::steady_clock::now() < until) {
    }
    return std::string(line);
  };
  const std::string requests = "a\nb\nc\nd\ne\nf\ng\nh\n";
  ASSERT_EQ(send(client.get(), requests.data(), requests.size(), MSG_NOSIGNAL),
            static_cast<ssize_t>(requests.size()));
  std::string replies = ReadLines(client.get(), 8);
  EXPECT_EQ(replies, "a\nb\nc\nd\ne\nf\ng\nh\n");
  // About kMaxBusyTime (2 ms) of them per wake-up, not all eight at once.
  EXPECT_LE(counter.MostLinesInOneIteration(), 3);
  EXPECT_GE(counter.iterations_with_lines(), 3u);
}

TEST_F(ControlServerTest, ClientsShareTheBudgetAndTakeTurns) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd first = Connect();
  UniqueFd second = Connect();
  IterationCounter counter(base_.get(), [this] { return handled_ < 12; });
  std::string order;
  handler_ = [&](std::string_view line) {
    counter.CountLine();
    order += line.front();
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1);
    while (std::chrono::steady_clock::now() < until) {
    }
    return std::string(line);
  };
  const std::string a = "a1\na2\na3\na4\na5\na6\n";
  const std::string b = "b1\nb2\nb3\nb4\nb5\nb6\n";
  ASSERT_EQ(send(first.get(), a.data(), a.size(), MSG_NOSIGNAL), static_cast<ssize_t>(a.size()));
  ASSERT_EQ(send(second.get(), b.data(), b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(b.size()));
  EXPECT_EQ(ReadLines(first.get(), 6), a);
  EXPECT_EQ(ReadLines(second.get(), 6), b);
  // About kMaxBusyTime (2 ms) of requests per iteration for both clients together, and neither
  // waits for the other to finish.
  EXPECT_LE(counter.MostLinesInOneIteration(), 3) << order;
  EXPECT_LT(order.find('b'), order.rfind('a')) << order;
  EXPECT_LT(order.find('a'), order.rfind('b')) << order;
}

// ---- Subscriptions.

// A handler for subscription tests: "sub N" subscribes the client to topics N and answers "ok";
// anything else is echoed.
class SubscriptionTest : public ControlServerTest {
 protected:
  void SetUp() override {
    ControlServerTest::SetUp();
    handler_ = [this](std::string_view line) -> std::optional<std::string> {
      if (line.starts_with("sub ")) {
        server_->Subscribe(
            client_, static_cast<ControlServer::Topics>(std::stoul(std::string(line.substr(4)))));
        return "ok";
      }
      return "echo:" + std::string(line);
    };
    server_->set_lost_notice([](uint64_t count) { return "lost:" + std::to_string(count); });
    ASSERT_TRUE(server_->Listen(path_).ok());
  }

  // Connects and subscribes to `topics`; the "ok" is read.
  UniqueFd Subscriber(ControlServer::Topics topics) {
    UniqueFd fd = Connect();
    WriteAll(fd.get(), "sub " + std::to_string(topics) + "\n");
    EXPECT_EQ(ReadLines(fd.get(), 1), "ok\n");
    return fd;
  }

  // Publishes `line` to `topics`; returns whether the line was made.
  bool Publish(ControlServer::Topics topics, const std::string& line) {
    bool made = false;
    server_->Publish(topics, [&]() -> std::string_view {
      made = true;
      return line;
    });
    return made;
  }
};

TEST_F(SubscriptionTest, SubscriberGetsPublishedLinesAfterItsResponse) {
  EXPECT_FALSE(server_->has_subscribers());
  UniqueFd client = Connect();
  // The response to the subscribing request is written before anything published after it.
  WriteAll(client.get(), "sub 1\n");
  Publish(1, "event-1");
  Publish(1, "event-2");
  EXPECT_EQ(ReadLines(client.get(), 3), "ok\nevent-1\nevent-2\n");
  EXPECT_TRUE(server_->has_subscribers());
  EXPECT_EQ(server_->subscriber_count(), 1u);
  // It may still make requests; their responses and the events share the connection in order.
  WriteAll(client.get(), "ping\n");
  Publish(1, "event-3");
  EXPECT_EQ(ReadLines(client.get(), 2), "echo:ping\nevent-3\n");
}

TEST_F(SubscriptionTest, LinesGoOnlyToSubscribersOfTheirTopic) {
  UniqueFd ones = Subscriber(1);
  UniqueFd twos = Subscriber(2);
  UniqueFd both = Subscriber(3);
  UniqueFd plain = Connect();
  EXPECT_TRUE(Publish(1, "one"));
  EXPECT_TRUE(Publish(2, "two"));
  EXPECT_FALSE(Publish(4, "four"));  // nobody subscribes: the line is never made
  EXPECT_EQ(ReadLines(ones.get(), 1), "one\n");
  EXPECT_EQ(ReadLines(twos.get(), 1), "two\n");
  EXPECT_EQ(ReadLines(both.get(), 2), "one\ntwo\n");
  WriteAll(plain.get(), "hi\n");
  EXPECT_EQ(ReadLines(plain.get(), 1), "echo:hi\n");  // no event before its own response
}

TEST_F(SubscriptionTest, ResubscribingReplacesTheTopics) {
  UniqueFd client = Subscriber(1);
  WriteAll(client.get(), "sub 2\n");
  EXPECT_EQ(ReadLines(client.get(), 1), "ok\n");
  Publish(1, "one");
  Publish(2, "two");
  EXPECT_EQ(ReadLines(client.get(), 1), "two\n");
  EXPECT_EQ(server_->subscriber_count(), 1u);
  WriteAll(client.get(), "sub 0\n");
  EXPECT_EQ(ReadLines(client.get(), 1), "ok\n");
  EXPECT_FALSE(server_->has_subscribers());
}

TEST_F(SubscriptionTest, ClosedSubscriberIsForgotten) {
  {
    UniqueFd client = Subscriber(1);
    EXPECT_TRUE(server_->has_subscribers());
  }
  for (int i = 0; i < 100 && server_->client_count() > 0; ++i) Pump(1);
  EXPECT_EQ(server_->client_count(), 0u);
  EXPECT_FALSE(server_->has_subscribers());
  EXPECT_FALSE(Publish(1, "nobody"));
}

TEST_F(SubscriptionTest, SubscriberThatShutsItsSendingSideIsClosedAndGetsNoMore) {
  UniqueFd client = Subscriber(1);
  shutdown(client.get(), SHUT_WR);
  Pump(4);
  EXPECT_FALSE(Publish(1, "late"));
  bool closed = false;
  EXPECT_EQ(ReadLines(client.get(), 1, &closed), "");
  EXPECT_TRUE(closed);
  EXPECT_FALSE(server_->has_subscribers());
}

TEST_F(SubscriptionTest, NonReadingSubscriberLosesLinesAndHearsHowManyOnceItCatchesUp) {
  UniqueFd slow = Subscriber(1);
  UniqueFd fast = Subscriber(1);
  const std::string payload(1000, 'e');
  constexpr int kLines = 4000;  // 4 MB: well over the backlog bound and the socket's buffer
  std::string fast_lines;
  for (int i = 0; i < kLines; ++i) {
    Publish(1, payload + std::to_string(i));
    Pump(1);
    // The fast one reads as it goes and loses nothing.
    char buffer[65536];
    for (ssize_t n; (n = recv(fast.get(), buffer, sizeof(buffer), MSG_DONTWAIT)) > 0;) {
      fast_lines.append(buffer, static_cast<size_t>(n));
    }
  }
  fast_lines +=
      ReadLines(fast.get(),
                kLines - static_cast<int>(std::count(fast_lines.begin(), fast_lines.end(), '\n')));
  EXPECT_EQ(std::count(fast_lines.begin(), fast_lines.end(), '\n'), kLines);
  EXPECT_EQ(fast_lines.find("lost:"), std::string::npos);

  // The slow one got what fitted, then nothing until it read; the rest is counted.
  std::string got;
  for (int i = 0; i < 200; ++i) {
    const std::string more = ReadLines(slow.get(), 1);
    got += more;
    if (more.empty() || got.find("lost:") != std::string::npos) break;
  }
  const size_t lost_at = got.find("lost:");
  ASSERT_NE(lost_at, std::string::npos) << "no lost notice after " << got.size() << " bytes";
  const int delivered = static_cast<int>(std::count(got.begin(), got.begin() + lost_at, '\n'));
  const uint64_t lost = std::stoull(got.substr(lost_at + 5));
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(delivered + static_cast<int>(lost), kLines);
  // It never held much more than the bound: what it got fitted in the backlog and the socket.
  EXPECT_LT(static_cast<size_t>(delivered) * 1004, ControlServer::kMaxNotificationBacklog * 3);
  // The notice comes once; later lines follow it.
  Publish(1, "after");
  std::string rest = got.substr(lost_at) + ReadLines(slow.get(), 1);
  EXPECT_EQ(rest, "lost:" + std::to_string(lost) + "\nafter\n");
}

TEST_F(SubscriptionTest, CountLostTellsSubscribersWithRoomAtOnce) {
  UniqueFd macs = Subscriber(1);
  UniqueFd ports = Subscriber(2);
  server_->CountLost(1, 7);
  EXPECT_EQ(ReadLines(macs.get(), 1), "lost:7\n");
  Publish(2, "port");
  EXPECT_EQ(ReadLines(ports.get(), 1), "port\n");  // not told of another topic's losses
}

TEST_F(ControlServerTest, RefusesToStartWhenAnotherServerListens) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  ControlServer second(base_.get(),
                       [](std::string_view, ControlServer::ClientId) { return std::nullopt; });
  Status status = second.Listen(path_);
  EXPECT_EQ(status.code(), ErrorCode::kAlreadyExists);
  EXPECT_NE(status.message().find("another switchd is running on " + path_), std::string::npos)
      << status.message();
  // The first server's socket is untouched.
  UniqueFd client = Connect();
  WriteAll(client.get(), "still\n");
  EXPECT_EQ(ReadLines(client.get(), 1), "echo:still\n");
}

TEST_F(ControlServerTest, ReplacesStaleSocketFile) {
  std::filesystem::create_directories(dir_ + "/sub");
  {
    UniqueFd stale(socket(AF_UNIX, SOCK_STREAM, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(bind(stale.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }  // closed without unlink: a socket file with nobody behind it
  ASSERT_TRUE(std::filesystem::exists(path_));
  ASSERT_TRUE(server_->Listen(path_).ok());
  UniqueFd client = Connect();
  WriteAll(client.get(), "fresh\n");
  EXPECT_EQ(ReadLines(client.get(), 1), "echo:fresh\n");
}

TEST_F(ControlServerTest, RefusesPathThatIsNotASocket) {
  std::filesystem::create_directories(dir_ + "/sub");
  {
    FILE* f = fopen(path_.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fclose(f);
  }
  Status status = server_->Listen(path_);
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.message().find("is not a socket"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(path_));
}

TEST_F(ControlServerTest, UnlinksSocketOnDestruction) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  server_.reset();
  EXPECT_FALSE(std::filesystem::exists(path_));
}

}  // namespace
}  // namespace switchd
