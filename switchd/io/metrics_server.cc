#include "switchd/io/metrics_server.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <string_view>

#include "switchd/control/metrics.h"
#include "switchd/io/log.h"
#include "switchd/io/unique_fd.h"

namespace switchd {
namespace {

constexpr std::string_view kPath = "/metrics";
constexpr int kBacklog = 64;

// Every method evhttp knows: the ones it would refuse itself (501) get a proper 405 from us.
constexpr ev_uint16_t kAllMethods = EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_OPTIONS |
                                    EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH;

// Sends `body` as `content_type`. For HEAD only the headers: libevent 2.1 would send the body
// too, and drop its Content-Length.
void Send(evhttp_request* request, int code, const char* reason, std::string_view content_type,
          std::string_view body) {
  evkeyvalq* headers = evhttp_request_get_output_headers(request);
  evhttp_add_header(headers, "Content-Type", std::string(content_type).c_str());
  if (evhttp_request_get_command(request) == EVHTTP_REQ_HEAD) {
    evhttp_add_header(headers, "Content-Length", std::to_string(body.size()).c_str());
  } else {
    evbuffer_add(evhttp_request_get_output_buffer(request), body.data(), body.size());
  }
  evhttp_send_reply(request, code, reason, nullptr);
}

constexpr std::string_view kTextContentType = "text/plain; charset=utf-8";

}  // namespace

MetricsServer::MetricsServer(Render render) : render_(std::move(render)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::Start(event_base* base,
                                                            const MetricsAddress& address,
                                                            Render render) {
  auto server = std::make_unique<MetricsServer>(std::move(render));
  if (Status status = server->Listen(base, address); !status.ok()) return status;
  return server;
}

Status MetricsServer::Listen(event_base* base, const MetricsAddress& address) {
  const std::string where = address.ToString();
  auto fail = [&](int err) {
    return Status::System("cannot serve metrics on " + where + ": " + strerror(err));
  };
  sockaddr_storage storage{};
  socklen_t length = 0;
  if (address.host.find(':') != std::string::npos) {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(address.port);
    if (inet_pton(AF_INET6, address.host.c_str(), &in6->sin6_addr) != 1) {
      return Status::InvalidArgument("invalid metrics address '" + where + "'");
    }
    length = sizeof(*in6);
  } else {
    auto* in4 = reinterpret_cast<sockaddr_in*>(&storage);
    in4->sin_family = AF_INET;
    in4->sin_port = htons(address.port);
    if (inet_pton(AF_INET, address.host.c_str(), &in4->sin_addr) != 1) {
      return Status::InvalidArgument("invalid metrics address '" + where + "'");
    }
    length = sizeof(*in4);
  }
  auto* sa = reinterpret_cast<sockaddr*>(&storage);

  UniqueFd fd(::socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!fd) return fail(errno);
  // A restarted switchd binds again at once, despite connections of the last one in TIME_WAIT;
  // on Linux this never lets two sockets listen on one port.
  const int on = 1;
  if (::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) {
    return fail(errno);
  }
  if (::bind(fd.get(), sa, length) < 0) return fail(errno);
  if (::listen(fd.get(), kBacklog) < 0) return fail(errno);
  if (::getsockname(fd.get(), sa, &length) < 0) return fail(errno);
  address_ = address;
  address_.port = ntohs(sa->sa_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(sa)->sin6_port
                                                  : reinterpret_cast<sockaddr_in*>(sa)->sin_port);

  http_.reset(evhttp_new(base));
  if (!http_) return Status::System("cannot serve metrics on " + where + ": evhttp_new failed");
  evhttp_set_gencb(http_.get(), OnRequest, this);
  evhttp_set_allowed_methods(http_.get(), kAllMethods);
  evhttp_set_max_headers_size(http_.get(), static_cast<ev_ssize_t>(kMaxHeadersSize));
  evhttp_set_max_body_size(http_.get(), static_cast<ev_ssize_t>(kMaxBodySize));
  evhttp_set_timeout(http_.get(), static_cast<int>(kTimeout.count()));

  // Backlog 0: the socket listens already.
  listener_ = evconnlistener_new(base, nullptr, nullptr, LEV_OPT_CLOSE_ON_FREE, 0, fd.get());
  if (listener_ == nullptr) {
    return Status::System("cannot serve metrics on " + where + ": evconnlistener_new failed");
  }
  fd.release();  // the listener's now
  if (evhttp_bind_listener(http_.get(), listener_) == nullptr) {
    evconnlistener_free(listener_);
    listener_ = nullptr;
    return Status::System("cannot serve metrics on " + where + ": evhttp_bind_listener failed");
  }
  // evhttp made itself the listener's callback argument, so OnAcceptError cannot reach this
  // object: it pauses the listener, and this timer resumes it, whatever paused it, every second.
  evconnlistener_set_error_cb(listener_, OnAcceptError);
  resume_accept_.reset(event_new(base, -1, EV_PERSIST, OnResumeAccept, this));
  const timeval one_second{1, 0};
  event_add(resume_accept_.get(), &one_second);
  return Status::Ok();
}

void MetricsServer::OnRequest(evhttp_request* request, void* arg) {
  auto* self = static_cast<MetricsServer*>(arg);
  const evhttp_uri* uri = evhttp_request_get_evhttp_uri(request);
  const char* path = uri != nullptr ? evhttp_uri_get_path(uri) : nullptr;
  if (path == nullptr || std::string_view(path) != kPath) {
    Send(request, HTTP_NOTFOUND, "Not Found", kTextContentType,
         "not found: the metrics are at /metrics\n");
    return;
  }
  const evhttp_cmd_type method = evhttp_request_get_command(request);
  if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
    evhttp_add_header(evhttp_request_get_output_headers(request), "Allow", "GET, HEAD");
    Send(request, HTTP_BADMETHOD, "Method Not Allowed", kTextContentType,
         "method not allowed: /metrics answers GET and HEAD\n");
    return;
  }
  // Exceptions never cross a libevent callback.
  std::string body;
  try {
    body = self->render_();
  } catch (const std::exception& e) {
    Logf(LogLevel::kError, "metrics: cannot render: %s", e.what());
    Send(request, HTTP_INTERNAL, "Internal Server Error", kTextContentType,
         "cannot render the metrics\n");
    return;
  }
  Send(request, HTTP_OK, "OK", kMetricsContentType, body);
}

void MetricsServer::OnAcceptError(evconnlistener* listener, void*) {
  const int err = EVUTIL_SOCKET_ERROR();
  // Out of descriptors: back off (OnResumeAccept) instead of spinning on a readable listener.
  Logf(LogLevel::kWarn, "metrics: accept failed: %s; pausing for 1 s", strerror(err));
  evconnlistener_disable(listener);
}

void MetricsServer::OnResumeAccept(int, short, void* arg) {
  auto* self = static_cast<MetricsServer*>(arg);
  evconnlistener_enable(self->listener_);
}

}  // namespace switchd
