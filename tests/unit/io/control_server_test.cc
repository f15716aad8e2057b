// ControlServer on a real unix socket in a temporary directory: framing, limits, start-up rules.
// No root needed. The loop is pumped in the test's thread, a bounded number of times.
#include "switchd/io/control_server.h"

#include <event2/event.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>

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
        out.append(buffer, static_cast<size_t>(n));
      }
      if (std::count(out.begin(), out.end(), '\n') >= lines && !closed) return out;
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
