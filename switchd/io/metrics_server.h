// MetricsServer: the --metrics HTTP endpoint, libevent's evhttp on the daemon's event loop.
//
// GET /metrics (and HEAD) answers 200 with the text a render function returns, as
// kMetricsContentType (switchd/control/metrics.h). It renders on request only: between scrapes
// the endpoint costs the forwarding path nothing. Any other path is 404; another method on
// /metrics is 405 with "Allow: GET, HEAD".
//
// Limits, so that a slow or hostile client costs a connection and never the loop: request
// headers of at most kMaxHeadersSize bytes and bodies of kMaxBodySize (evhttp answers larger ones
// with an error and closes), and a connection that stays idle or half-sent for kTimeout is closed.
// An accept() that fails (out of descriptors) pauses accepting for a second instead of spinning.
// The listening socket and every connection belong to the evhttp object: destroying the server
// closes them all.
#pragma once

#include <event2/http.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "switchd/control/config.h"
#include "switchd/core/status.h"
#include "switchd/io/event_loop.h"

namespace switchd {

struct HttpDeleter {
  void operator()(evhttp* http) const { evhttp_free(http); }
};
using HttpPtr = std::unique_ptr<evhttp, HttpDeleter>;

class MetricsServer {
 public:
  // Returns the body of a 200 answer to GET /metrics.
  using Render = std::function<std::string()>;

  static constexpr size_t kMaxHeadersSize = 8192;
  static constexpr size_t kMaxBodySize = 1024;
  static constexpr std::chrono::seconds kTimeout{10};

  // Listens on `address` and serves on `base` (which must outlive the server). Fails with
  // kSystem, naming the address: "cannot serve metrics on 127.0.0.1:9100: Address already in
  // use".
  static Result<std::unique_ptr<MetricsServer>> Start(event_base* base,
                                                      const MetricsAddress& address, Render render);
  // Use Start(); public only so that std::make_unique can reach it.
  explicit MetricsServer(Render render);
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // The address listened on, with the port the kernel chose when port 0 was asked for.
  const MetricsAddress& address() const { return address_; }

 private:
  Status Listen(event_base* base, const MetricsAddress& address);

  static void OnRequest(evhttp_request* request, void* arg);
  static void OnAcceptError(evconnlistener* listener, void* arg);
  static void OnResumeAccept(int fd, short events, void* arg);

  Render render_;
  MetricsAddress address_;
  HttpPtr http_;
  evconnlistener* listener_ = nullptr;  // owned by http_
  // Declared last, freed first: it refers to listener_.
  EventPtr resume_accept_;
};

}  // namespace switchd
