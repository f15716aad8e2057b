// MetricsServer on a real TCP socket on the loopback: paths, methods, headers, limits and start-up
// errors. No root needed. The loop is pumped in the test's thread, a bounded number of times.
#include "switchd/io/metrics_server.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "switchd/control/metrics.h"
#include "switchd/io/unique_fd.h"

namespace switchd {
namespace {

constexpr const char* kBody = "# HELP x_total A counter.\n# TYPE x_total counter\nx_total 7\n";

// A socket connected to `host`:`port` (IPv4 or IPv6 numeric), or an invalid one.
UniqueFd ConnectTo(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  UniqueFd fd(socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_storage storage{};
  socklen_t length;
  if (v6) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    inet_pton(AF_INET6, host.c_str(), &in6->sin6_addr);
    length = sizeof(*in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(port);
    inet_pton(AF_INET, host.c_str(), &in4->sin_addr);
    length = sizeof(*in4);
  }
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&storage), length) != 0) return UniqueFd();
  return fd;
}

class MetricsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_.reset(event_base_new());
    Start(MetricsAddress{"127.0.0.1", 0});
  }

  void Start(const MetricsAddress& address) {
    server_.reset();
    Result<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(base_.get(), address, [this] {
          ++renders_;
          return std::string(kBody);
        });
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(*server);
    ASSERT_NE(server_->address().port, 0);
  }

  void Pump(int rounds = 1) {
    for (int i = 0; i < rounds; ++i) event_base_loop(base_.get(), EVLOOP_NONBLOCK);
  }

  // Sends `request` on a new connection and returns everything the server sends until it closes
  // the connection (bounded: about two seconds).
  std::string Exchange(const std::string& request) {
    UniqueFd fd = ConnectTo(server_->address().host, server_->address().port);
    EXPECT_TRUE(fd.valid()) << strerror(errno);
    if (!fd) return "";
    EXPECT_EQ(write(fd.get(), request.data(), request.size()),
              static_cast<ssize_t>(request.size()));
    return ReadUntilClosed(fd.get());
  }

  std::string ReadUntilClosed(int fd) {
    std::string out;
    for (int i = 0; i < 2000; ++i) {
      Pump();
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 1) != 1) continue;
      char buffer[65536];
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0) return out;
      out.append(buffer, static_cast<size_t>(n));
    }
    ADD_FAILURE() << "the server did not close the connection; got: " << out;
    return out;
  }

  std::string Get(const std::string& path, const std::string& method = "GET") {
    return Exchange(method + " " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  }

  static std::string StatusLine(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
  }
  static std::string Body(const std::string& response) {
    const size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
  }
  static bool HasHeader(const std::string& response, const std::string& header) {
    const std::string head = response.substr(0, response.find("\r\n\r\n") + 2);
    return head.find("\r\n" + header + "\r\n") != std::string::npos;
  }

  EventBasePtr base_;
  std::unique_ptr<MetricsServer> server_;
  int renders_ = 0;
};

TEST_F(MetricsServerTest, GetMetricsAnswersTheRenderedText) {
  const std::string response = Get("/metrics");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 200 OK");
  EXPECT_TRUE(HasHeader(response, "Content-Type: " + std::string(kMetricsContentType))) << response;
  EXPECT_TRUE(HasHeader(response, "Content-Length: " + std::to_string(strlen(kBody))));
  EXPECT_EQ(Body(response), kBody);
  EXPECT_EQ(renders_, 1);
  // Rendered on each request, never in between.
  Pump(10);
  EXPECT_EQ(renders_, 1);
  EXPECT_EQ(Body(Get("/metrics?name[]=x_total")), kBody);
  EXPECT_EQ(renders_, 2);
}

TEST_F(MetricsServerTest, HeadAnswersTheHeadersWithoutTheBody) {
  const std::string response = Get("/metrics", "HEAD");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 200 OK");
  EXPECT_TRUE(HasHeader(response, "Content-Type: " + std::string(kMetricsContentType)));
  EXPECT_TRUE(HasHeader(response, "Content-Length: " + std::to_string(strlen(kBody)))) << response;
  EXPECT_EQ(Body(response), "");
}

TEST_F(MetricsServerTest, OtherPathsAreNotFound) {
  for (const char* path : {"/", "/metricsx", "/metrics/", "/Metrics", "/favicon.ico"}) {
    const std::string response = Get(path);
    EXPECT_EQ(StatusLine(response), "HTTP/1.1 404 Not Found") << path;
    EXPECT_EQ(Body(response), "not found: the metrics are at /metrics\n") << path;
  }
  EXPECT_EQ(StatusLine(Get("/", "POST")), "HTTP/1.1 404 Not Found");
  const std::string head = Get("/", "HEAD");
  EXPECT_EQ(StatusLine(head), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(Body(head), "");
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, OtherMethodsOnMetricsAreNotAllowed) {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) {
    const std::string response = Get("/metrics", method);
    EXPECT_EQ(StatusLine(response), "HTTP/1.1 405 Method Not Allowed") << method;
    EXPECT_TRUE(HasHeader(response, "Allow: GET, HEAD")) << method << "\n" << response;
  }
  EXPECT_EQ(renders_, 0);
}

TEST_F(MetricsServerTest, RefusesOversizedHeadersAndBodies) {
  const std::string big(MetricsServer::kMaxHeadersSize + 100, 'a');
  const std::string headers =
      Exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n");
  // libevent 2.1 answers 400 to headers over the limit (413 would do as well).
  EXPECT_TRUE(StatusLine(headers) == "HTTP/1.1 400 Bad Request" ||
              StatusLine(headers).starts_with("HTTP/1.1 413 "))
      << StatusLine(headers);
  const std::string body(MetricsServer::kMaxBodySize + 1, 'b');
  const std::string posted = Exchange(
      "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_NE(StatusLine(posted).find(" 413 "), std::string::npos) << StatusLine(posted);
  EXPECT_EQ(renders_, 0);
  EXPECT_EQ(StatusLine(Get("/metrics")), "HTTP/1.1 200 OK");  // and it still serves
}

TEST_F(MetricsServerTest, AHalfSentRequestDoesNotHoldUpOthers) {
  UniqueFd slow = ConnectTo("127.0.0.1", server_->address().port);
  ASSERT_TRUE(slow.valid());
  const std::string part = "GET /metr";
  ASSERT_EQ(write(slow.get(), part.data(), part.size()), static_cast<ssize_t>(part.size()));
  Pump(4);
  EXPECT_EQ(StatusLine(Get("/metrics")), "HTTP/1.1 200 OK");
  EXPECT_EQ(renders_, 1);
  const std::string rest = "ics HTTP/1.0\r\n\r\n";
  ASSERT_EQ(write(slow.get(), rest.data(), rest.size()), static_cast<ssize_t>(rest.size()));
  EXPECT_EQ(StatusLine(ReadUntilClosed(slow.get())), "HTTP/1.0 200 OK");
  EXPECT_EQ(renders_, 2);
}

TEST_F(MetricsServerTest, AnswersOneRequestAfterAnotherOnAKeptAliveConnection) {
  UniqueFd fd = ConnectTo("127.0.0.1", server_->address().port);
  ASSERT_TRUE(fd.valid());
  const std::string two =
      "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n"
      "Connection: close\r\n\r\n";
  ASSERT_EQ(write(fd.get(), two.data(), two.size()), static_cast<ssize_t>(two.size()));
  const std::string out = ReadUntilClosed(fd.get());
  size_t answers = 0;
  for (size_t at = 0; (at = out.find("HTTP/1.1 200 OK", at)) != std::string::npos; ++at) ++answers;
  EXPECT_EQ(answers, 2u) << out;
  EXPECT_EQ(renders_, 2);
}

TEST_F(MetricsServerTest, ATakenPortFailsNamingTheAddress) {
  UniqueFd taken(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(taken.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(taken.get(), 1), 0);
  socklen_t length = sizeof(addr);
  ASSERT_EQ(getsockname(taken.get(), reinterpret_cast<sockaddr*>(&addr), &length), 0);
  const uint16_t port = ntohs(addr.sin_port);

  Result<std::unique_ptr<MetricsServer>> server = MetricsServer::Start(
      base_.get(), MetricsAddress{"127.0.0.1", port}, [] { return std::string(); });
  ASSERT_FALSE(server.ok());
  EXPECT_EQ(server.status().code(), ErrorCode::kSystem);
  EXPECT_EQ(server.status().message(), "cannot serve metrics on 127.0.0.1:" + std::to_string(port) +
                                           ": Address already in use");
  // An address this host does not have.
  Result<std::unique_ptr<MetricsServer>> elsewhere = MetricsServer::Start(
      base_.get(), MetricsAddress{"192.0.2.1", 0}, [] { return std::string(); });
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_EQ(elsewhere.status().message(),
            "cannot serve metrics on 192.0.2.1:0: Cannot assign requested address");
}

TEST_F(MetricsServerTest, DestroyingTheServerClosesItsSocket) {
  const uint16_t port = server_->address().port;
  server_.reset();
  EXPECT_FALSE(ConnectTo("127.0.0.1", port).valid());
  EXPECT_EQ(errno, ECONNREFUSED);
}

TEST_F(MetricsServerTest, ServesOnIpv6Loopback) {
  std::ifstream inet6("/proc/net/if_inet6");
  std::string line;
  bool has_loopback = false;
  while (std::getline(inet6, line)) {
    has_loopback |= line.starts_with("00000000000000000000000000000001");
  }
  if (!has_loopback) GTEST_SKIP() << "this host has no ::1";
  Start(MetricsAddress{"::1", 0});
  EXPECT_EQ(server_->address().host, "::1");
  EXPECT_EQ(server_->address().ToString(), "[::1]:" + std::to_string(server_->address().port));
  const std::string response = Get("/metrics");
  EXPECT_EQ(StatusLine(response), "HTTP/1.1 200 OK");
  EXPECT_EQ(Body(response), kBody);
}

}  // namespace
}  // namespace switchd
