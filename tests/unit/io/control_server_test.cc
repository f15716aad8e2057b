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
    server_ = std::make_unique<ControlServer>(base_.get(), [this](std::string_view line) {
      ++handled_;
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

TEST_F(ControlServerTest, RefusesToStartWhenAnotherServerListens) {
  ASSERT_TRUE(server_->Listen(path_).ok());
  ControlServer second(base_.get(), [](std::string_view) { return std::nullopt; });
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
