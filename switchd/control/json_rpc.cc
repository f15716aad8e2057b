#include "switchd/control/json_rpc.h"

#include <cstdio>
#include <exception>
#include <utility>

#include "switchd/control/protocol.h"

namespace switchd {

namespace {

using nlohmann::json;

constexpr size_t kMaxQuotedBytes = 64;
// Parse error details quote the token read so far, which can be most of a 1 MiB line.
constexpr size_t kMaxDetailBytes = 160;

json ErrorObject(int code, std::string message) {
  return json{{"code", code}, {"message", std::move(message)}};
}

// Messages are one line: a control character (say a newline in an exception's text) becomes a
// space.
std::string OneLine(std::string text) {
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return text;
}

json ErrorResponse(json id, int code, std::string message) {
  return json{{"jsonrpc", "2.0"},
              {"id", std::move(id)},
              {"error", ErrorObject(code, OneLine(std::move(message)))}};
}

json InvalidRequest(json id, std::string_view what) {
  return ErrorResponse(std::move(id), protocol::kInvalidRequest,
                       "invalid request: " + std::string(what));
}

// Serializes without ever throwing on bytes that are not UTF-8 (parse error details quote raw
// input; interface names come from the kernel): they are replaced by U+FFFD.
std::string Serialize(const json& response) {
  return response.dump(-1, ' ', false, json::error_handler_t::replace);
}

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence, marking the cut.
std::string Truncate(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xc0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "...";
}

// The deepest nesting of arrays and objects in `line`, counted outside strings, stopping early
// once `limit` is exceeded. Works on any bytes: invalid JSON is left to the parser.
size_t NestingDepth(std::string_view line, size_t limit) {
  size_t depth = 0;
  size_t deepest = 0;
  bool in_string = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') {
        ++i;  // the escaped character cannot end the string
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest) deepest = depth;
      if (deepest > limit) break;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// nlohmann's messages start with "[json.exception.parse_error.101] parse error at line 1,
// column 5: "; we keep what follows and report the byte offset, which is what a one-line
// protocol user can act on.
std::string ParseErrorMessage(const json::exception& e, std::optional<size_t> byte) {
  std::string_view what = e.what();
  if (const size_t bracket = what.find("] "); bracket != std::string_view::npos) {
    what.remove_prefix(bracket + 2);
  }
  if (what.starts_with("parse error")) {
    const size_t colon = what.find(": ");
    what.remove_prefix(colon == std::string_view::npos ? what.size() : colon + 2);
  }
  const std::string detail = Truncate(what, kMaxDetailBytes);
  std::string message = "parse error";
  if (byte) message += " at byte " + std::to_string(*byte);
  if (!detail.empty()) message += ": " + detail;
  return message;
}

bool IsValidId(const json& id) { return id.is_string() || id.is_number() || id.is_null(); }

const char* TypeName(const json& value) {
  switch (value.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::binary:
    case json::value_t::discarded:
      break;
  }
  return "an unexpected value";
}

// Handles one request object (or what should have been one). Returns nullopt for a notification.
std::optional<json> HandleRequest(const json& request, const Dispatcher& dispatcher) {
  if (!request.is_object()) {
    return InvalidRequest(nullptr,
                          std::string("expected a request object, got ") + TypeName(request));
  }
  const auto id_it = request.find("id");
  const bool is_notification = id_it == request.end();
  if (!is_notification && !IsValidId(*id_it)) {
    return InvalidRequest(nullptr, "\"id\" must be a string, a number or null");
  }
  // An invalid request is answered even without an id (JSON-RPC 2.0, section 5), with id null.
  json id = is_notification ? json(nullptr) : *id_it;

  for (const auto& [key, value] : request.items()) {
    if (key != "jsonrpc" && key != "method" && key != "params" && key != "id") {
      return InvalidRequest(std::move(id), "unknown member " + QuoteInput(key) +
                                               " (expected jsonrpc, method, params, id)");
    }
  }
  const auto version = request.find("jsonrpc");
  if (version == request.end() || !version->is_string() || *version != "2.0") {
    return InvalidRequest(std::move(id), "\"jsonrpc\" must be \"2.0\"");
  }
  const auto method_it = request.find("method");
  if (method_it == request.end() || !method_it->is_string()) {
    return InvalidRequest(std::move(id), "\"method\" must be a string");
  }
  static const json kNoParams = json::object();
  const json* params = &kNoParams;
  if (const auto it = request.find("params"); it != request.end() && !it->is_null()) {
    if (!it->is_object()) {
      return InvalidRequest(std::move(id), "\"params\" must be an object (named parameters)");
    }
    params = &*it;
  }

  const std::string& method = method_it->get_ref<const std::string&>();
  json response;
  try {
    if (!dispatcher.has_method(method)) {
      response =
          ErrorResponse(std::move(id), protocol::kMethodNotFound,
                        "unknown method " + QuoteInput(method) + " (try 'help' for the list)");
    } else if (Result<json> result = dispatcher.call(method, *params); result.ok()) {
      response = json{{"jsonrpc", "2.0"}, {"id", std::move(id)}, {"result", std::move(*result)}};
    } else {
      const Status status = result.status();
      response = ErrorResponse(std::move(id), protocol::ToJsonRpcCode(status.code()),
                               status.message().empty() ? "internal error" : status.message());
    }
  } catch (const std::exception& e) {
    // A bug in a method must not take the connection or the daemon down.
    response = ErrorResponse(std::move(id), protocol::kInternalError,
                             "internal error: " + Truncate(e.what(), kMaxDetailBytes));
  } catch (...) {
    response = ErrorResponse(std::move(id), protocol::kInternalError, "internal error");
  }
  if (is_notification) return std::nullopt;
  return response;
}

std::optional<std::string> HandleLine(std::string_view line, const Dispatcher& dispatcher) {
  if (line.size() > protocol::kMaxMessageSize) return OversizeErrorResponse();
  if (NestingDepth(line, kMaxJsonDepth) > kMaxJsonDepth) {
    return Serialize(InvalidRequest(
        nullptr, "JSON nested deeper than " + std::to_string(kMaxJsonDepth) + " levels"));
  }

  json message;
  try {
    message = json::parse(line.begin(), line.end());
  } catch (const json::parse_error& e) {
    return Serialize(ErrorResponse(nullptr, protocol::kParseError, ParseErrorMessage(e, e.byte)));
  } catch (const json::exception& e) {  // e.g. out_of_range 406: a number too large for a double
    return Serialize(
        ErrorResponse(nullptr, protocol::kParseError, ParseErrorMessage(e, std::nullopt)));
  }

  if (!message.is_array()) {
    std::optional<json> response = HandleRequest(message, dispatcher);
    if (!response) return std::nullopt;
    return Serialize(*response);
  }
  if (message.empty()) return Serialize(InvalidRequest(nullptr, "empty batch"));
  if (message.size() > kMaxBatchSize) {
    return Serialize(InvalidRequest(nullptr, "batch of " + std::to_string(message.size()) +
                                                 " requests is too large (at most " +
                                                 std::to_string(kMaxBatchSize) + ")"));
  }
  json responses = json::array();
  for (const json& request : message) {
    if (std::optional<json> response = HandleRequest(request, dispatcher)) {
      responses.push_back(std::move(*response));
    }
  }
  if (responses.empty()) return std::nullopt;  // a batch of notifications
  return Serialize(responses);
}

}  // namespace

std::optional<std::string> HandleRequestLine(std::string_view line, const Dispatcher& dispatcher) {
  // Only allocation failure or a bug gets past HandleLine's own handling: answer with a fixed line
  // rather than let an exception cross the event loop.
  try {
    return HandleLine(line, dispatcher);
  } catch (...) {
  }
  try {
    return std::string(
        R"({"error":{"code":-32603,"message":"internal error"},"id":null,"jsonrpc":"2.0"})");
  } catch (...) {
    return std::nullopt;
  }
}

std::string OversizeErrorResponse() {
  return Serialize(ErrorResponse(
      nullptr, protocol::kInvalidRequest,
      "message too large: over " + std::to_string(protocol::kMaxMessageSize) + " bytes"));
}

std::string QuoteInput(std::string_view text) {
  std::string out = "'";
  for (char c : Truncate(text, kMaxQuotedBytes)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      char escape[8];
      std::snprintf(escape, sizeof(escape), "\\x%02x", byte);
      out += escape;
    } else if (c == '\'' || c == '\\') {
      out += '\\';
      out += c;
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

}  // namespace switchd
