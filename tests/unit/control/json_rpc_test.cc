// The JSON-RPC envelope on its own, with a scripted dispatcher: every error code, ids of each type,
// notifications, batches, and hostile input (garbage bytes, huge numbers, deep nesting).
#include "switchd/control/json_rpc.h"

#include <cstdint>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "switchd/control/protocol.h"

namespace switchd {
namespace {

using nlohmann::json;

// Methods: "echo" returns its params, "fail" returns the Status named by params.code, "throw"
// throws, "count" counts its calls. Every call is recorded.
class JsonRpcTest : public ::testing::Test {
 protected:
  JsonRpcTest() {
    dispatcher_.has_method = [this](std::string_view method) {
      if (has_method_throws_) throw std::runtime_error("has_method exploded");
      return method == "echo" || method == "fail" || method == "throw" || method == "count";
    };
    dispatcher_.call = [this](std::string_view method, const json& params) -> Result<json> {
      calls_.emplace_back(method);
      if (method == "echo") return params;
      if (method == "fail") {
        return Status(static_cast<ErrorCode>(params.at("code").get<int>()),
                      params.value("message", ""));
      }
      if (method == "throw") throw std::runtime_error("boom\nsecond line");
      ++count_;
      return json::object();
    };
  }

  // The response to `line`, parsed; fails the test if there is none.
  json Handle(std::string_view line) {
    std::optional<std::string> response = HandleRequestLine(line, dispatcher_);
    if (!response) {
      ADD_FAILURE() << "no response to: " << line;
      return nullptr;
    }
    EXPECT_EQ(response->find('\n'), std::string::npos) << *response;
    return json::parse(*response);
  }

  // Expects `line` to get an error response with `code`; returns its message.
  std::string ExpectError(std::string_view line, int code, const json& id = nullptr) {
    const json response = Handle(line);
    EXPECT_EQ(response.value("jsonrpc", ""), "2.0") << response;
    EXPECT_EQ(response.at("id"), id) << response;
    EXPECT_FALSE(response.contains("result")) << response;
    EXPECT_EQ(response.at("error").at("code"), code) << response;
    const std::string message = response.at("error").at("message");
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }

  Dispatcher dispatcher_;
  std::vector<std::string> calls_;
  int count_ = 0;
  bool has_method_throws_ = false;
};

TEST_F(JsonRpcTest, AnswersRequestWithResultAndSameId) {
  const std::optional<std::string> response = HandleRequestLine(
      R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":[1,2]}})", dispatcher_);
  ASSERT_TRUE(response);
  EXPECT_EQ(*response, R"({"id":1,"jsonrpc":"2.0","result":{"a":[1,2]}})");
}

TEST_F(JsonRpcTest, EchoesIdsOfEveryValidType) {
  for (const char* id : {R"("abc")", R"("")", "0", "-7", "2.5", "18446744073709551615",
                         "123456789012345678901234567890", "null"}) {
    SCOPED_TRACE(id);
    const json response =
        Handle(std::string(R"({"jsonrpc":"2.0","method":"echo","id":)") + id + "}");
    EXPECT_EQ(response.at("id"), json::parse(id));
    EXPECT_EQ(response.at("result"), json::object());
  }
}

TEST_F(JsonRpcTest, OmittedOrNullParamsReachTheMethodAsEmptyObject) {
  EXPECT_EQ(Handle(R"({"jsonrpc":"2.0","id":1,"method":"echo"})").at("result"), json::object());
  EXPECT_EQ(Handle(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":null})").at("result"),
            json::object());
}

TEST_F(JsonRpcTest, NotificationIsExecutedWithoutResponse) {
  EXPECT_FALSE(HandleRequestLine(R"({"jsonrpc":"2.0","method":"count"})", dispatcher_));
  EXPECT_EQ(count_, 1);
}

TEST_F(JsonRpcTest, FailingNotificationGetsNoResponse) {
  EXPECT_FALSE(HandleRequestLine(R"({"jsonrpc":"2.0","method":"nope"})", dispatcher_));
  EXPECT_FALSE(
      HandleRequestLine(R"({"jsonrpc":"2.0","method":"fail","params":{"code":2}})", dispatcher_));
  EXPECT_FALSE(HandleRequestLine(R"({"jsonrpc":"2.0","method":"throw"})", dispatcher_));
}

TEST_F(JsonRpcTest, ParseErrorQuotesBytePosition) {
  // nlohmann reports the last byte it read: the end of the unexpected "2.0" token.
  const std::string message = ExpectError(R"({"jsonrpc" "2.0"})", protocol::kParseError);
  EXPECT_EQ(message.rfind("parse error at byte 16: ", 0), 0u) << message;
  EXPECT_EQ(message, [&] {
    std::string lower = message;
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return lower;
  }()) << "messages are lower case";
}

TEST_F(JsonRpcTest, ParseErrorForEveryKindOfNonJson) {
  for (const char* line :
       {"", "   ", "{", "}", "garbage", "{\"a\":}", "[1,2", "'single'", "{\"a\":1}}",
        "\x01\x02\x03", "\"unterminated", "nul", "{\"a\":01}", "// comment\n{}"}) {
    SCOPED_TRACE(line);
    const std::string message = ExpectError(line, protocol::kParseError);
    EXPECT_EQ(message.rfind("parse error", 0), 0u) << message;
  }
}

TEST_F(JsonRpcTest, ParseErrorResponseIsValidJsonEvenForInvalidUtf8) {
  // The detail quotes what was read, which here is not UTF-8.
  const std::string message = ExpectError("[\"\xff\xfe\" x", protocol::kParseError);
  EXPECT_EQ(message.rfind("parse error at byte", 0), 0u) << message;
}

TEST_F(JsonRpcTest, ParseErrorMessageStaysShortForLongInput) {
  const std::string message =
      ExpectError("[\"" + std::string(500000, 'a') + "\x01", protocol::kParseError);
  EXPECT_LT(message.size(), 300u) << message;
  EXPECT_EQ(message.rfind("parse error at byte 500003: ", 0), 0u) << message.substr(0, 80);
}

TEST_F(JsonRpcTest, NumberTooLargeForADoubleIsAParseError) {
  const std::string message = ExpectError(
      R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":1e400}})", protocol::kParseError);
  EXPECT_NE(message.find("1e400"), std::string::npos) << message;
}

TEST_F(JsonRpcTest, HugeNumbersInParamsAreHandedToTheMethod) {
  const json response = Handle(
      R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1e308,"b":-99999999999999999999999,"c":18446744073709551615}})");
  EXPECT_EQ(response.at("result").at("a"), 1e308);
  EXPECT_TRUE(response.at("result").at("b").is_number_float());
  EXPECT_EQ(response.at("result").at("c"), UINT64_MAX);
}

TEST_F(JsonRpcTest, RejectsNonObjectRequests) {
  for (const char* line : {"1", "\"str\"", "null", "true", "3.5"}) {
    SCOPED_TRACE(line);
    EXPECT_EQ(ExpectError(line, protocol::kInvalidRequest)
                  .rfind("invalid request: expected a "
                         "request object",
                         0),
              0u);
  }
}

TEST_F(JsonRpcTest, RejectsMissingOrWrongJsonrpcVersion) {
  for (const char* version : {"", R"(,"jsonrpc":"1.0")", R"(,"jsonrpc":2.0)", R"(,"jsonrpc":null)",
                              R"(,"jsonrpc":"2.0 ")"}) {
    SCOPED_TRACE(version);
    const std::string message = ExpectError(
        std::string(R"({"id":7,"method":"echo")") + version + "}", protocol::kInvalidRequest, 7);
    EXPECT_EQ(message, R"(invalid request: "jsonrpc" must be "2.0")");
  }
  EXPECT_TRUE(calls_.empty());
}

TEST_F(JsonRpcTest, RejectsMissingOrNonStringMethod) {
  for (const char* method : {"", R"(,"method":1)", R"(,"method":null)", R"(,"method":["echo"])"}) {
    SCOPED_TRACE(method);
    const std::string message = ExpectError(
        std::string(R"({"jsonrpc":"2.0","id":"x")") + method + "}", protocol::kInvalidRequest, "x");
    EXPECT_EQ(message, R"(invalid request: "method" must be a string)");
  }
}

TEST_F(JsonRpcTest, RejectsPositionalOrScalarParams) {
  for (const char* params : {"[1,2]", "[]", "\"a\"", "5", "true"}) {
    SCOPED_TRACE(params);
    const std::string message = ExpectError(
        std::string(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":)") + params + "}",
        protocol::kInvalidRequest, 1);
    EXPECT_EQ(message, R"(invalid request: "params" must be an object (named parameters))");
  }
  EXPECT_TRUE(calls_.empty());
}

TEST_F(JsonRpcTest, RejectsIdOfWrongTypeWithNullId) {
  for (const char* id : {"true", "false", "[1]", "{\"a\":1}"}) {
    SCOPED_TRACE(id);
    const std::string message =
        ExpectError(std::string(R"({"jsonrpc":"2.0","method":"echo","id":)") + id + "}",
                    protocol::kInvalidRequest, nullptr);
    EXPECT_EQ(message, R"(invalid request: "id" must be a string, a number or null)");
  }
  EXPECT_TRUE(calls_.empty());
}

TEST_F(JsonRpcTest, RejectsUnknownMembers) {
  const std::string message = ExpectError(R"({"jsonrpc":"2.0","id":1,"method":"echo","param":{}})",
                                          protocol::kInvalidRequest, 1);
  EXPECT_EQ(message,
            "invalid request: unknown member 'param' (expected jsonrpc, method, params, id)");
}

TEST_F(JsonRpcTest, InvalidRequestWithoutIdIsStillAnswered) {
  ExpectError(R"({"jsonrpc":"1.0","method":"count"})", protocol::kInvalidRequest, nullptr);
  EXPECT_EQ(count_, 0);
}

TEST_F(JsonRpcTest, UnknownMethodQuotesTheName) {
  const std::string message =
      ExpectError(R"({"jsonrpc":"2.0","id":3,"method":"show-mac"})", protocol::kMethodNotFound, 3);
  EXPECT_EQ(message, "unknown method 'show-mac' (try 'help' for the list)");
  EXPECT_TRUE(calls_.empty());
}

TEST_F(JsonRpcTest, UnknownMethodMessageStaysOneLine) {
  const std::string message =
      ExpectError(R"({"jsonrpc":"2.0","id":3,"method":"a\nb'c"})", protocol::kMethodNotFound, 3);
  EXPECT_EQ(message, R"(unknown method 'a\x0ab\'c' (try 'help' for the list))");
}

TEST_F(JsonRpcTest, MapsEveryStatusCodeToItsJsonRpcCode) {
  const std::pair<ErrorCode, int> cases[] = {
      {ErrorCode::kInvalidArgument, protocol::kInvalidParams},
      {ErrorCode::kNotFound, protocol::kNotFound},
      {ErrorCode::kAlreadyExists, protocol::kAlreadyExists},
      {ErrorCode::kResourceExhausted, protocol::kResourceExhausted},
      {ErrorCode::kSystem, protocol::kSystemError},
      {ErrorCode::kInternal, protocol::kInternalError},
  };
  for (const auto& [status, code] : cases) {
    SCOPED_TRACE(code);
    const json request = {
        {"jsonrpc", "2.0"},
        {"id", "req"},
        {"method", "fail"},
        {"params", {{"code", static_cast<int>(status)}, {"message", "it broke"}}}};
    EXPECT_EQ(ExpectError(request.dump(), code, "req"), "it broke");
  }
}

TEST_F(JsonRpcTest, ExceptionInMethodBecomesInternalErrorAndNextRequestWorks) {
  const std::string message =
      ExpectError(R"({"jsonrpc":"2.0","id":1,"method":"throw"})", protocol::kInternalError, 1);
  EXPECT_EQ(message, "internal error: boom second line");
  EXPECT_EQ(Handle(R"({"jsonrpc":"2.0","id":2,"method":"echo"})").at("result"), json::object());
}

TEST_F(JsonRpcTest, ExceptionInHasMethodBecomesInternalError) {
  has_method_throws_ = true;
  ExpectError(R"({"jsonrpc":"2.0","id":1,"method":"echo"})", protocol::kInternalError, 1);
}

TEST_F(JsonRpcTest, BatchIsAnsweredInOrderWithoutNotifications) {
  const json responses = Handle(
      R"([{"jsonrpc":"2.0","id":1,"method":"echo","params":{"n":1}},
          {"jsonrpc":"2.0","method":"count"},
          {"jsonrpc":"2.0","id":"two","method":"nope"},
          5,
          {"jsonrpc":"2.0","id":3,"method":"echo","params":{"n":3}}])");
  ASSERT_TRUE(responses.is_array());
  ASSERT_EQ(responses.size(), 4u) << responses;
  EXPECT_EQ(responses[0].at("result"), json({{"n", 1}}));
  EXPECT_EQ(responses[1].at("id"), "two");
  EXPECT_EQ(responses[1].at("error").at("code"), protocol::kMethodNotFound);
  EXPECT_EQ(responses[2].at("id"), nullptr);
  EXPECT_EQ(responses[2].at("error").at("code"), protocol::kInvalidRequest);
  EXPECT_EQ(responses[3].at("result"), json({{"n", 3}}));
  EXPECT_EQ(count_, 1);
}

TEST_F(JsonRpcTest, EmptyBatchIsAnInvalidRequest) {
  EXPECT_EQ(ExpectError("[]", protocol::kInvalidRequest), "invalid request: empty batch");
}

TEST_F(JsonRpcTest, OversizedBatchIsRefusedWithoutRunningAnyRequest) {
  json batch = json::array();
  for (size_t i = 0; i <= kMaxBatchSize; ++i) {
    batch.push_back({{"jsonrpc", "2.0"}, {"method", "count"}});
  }
  EXPECT_EQ(ExpectError(batch.dump(), protocol::kInvalidRequest),
            "invalid request: batch of 65 requests is too large (at most 64)");
  EXPECT_EQ(count_, 0);
  batch.erase(batch.begin());  // exactly the limit is fine
  EXPECT_FALSE(HandleRequestLine(batch.dump(), dispatcher_));
  EXPECT_EQ(count_, static_cast<int>(kMaxBatchSize));
}

TEST_F(JsonRpcTest, BatchOfNotificationsGetsNoResponse) {
  EXPECT_FALSE(HandleRequestLine(
      R"([{"jsonrpc":"2.0","method":"count"},{"jsonrpc":"2.0","method":"count"}])", dispatcher_));
  EXPECT_EQ(count_, 2);
}

TEST_F(JsonRpcTest, BatchOfInvalidElementsGetsOneErrorEach) {
  const json responses = Handle("[1, [], [{}], \"x\"]");
  ASSERT_EQ(responses.size(), 4u);
  for (const json& response : responses) {
    EXPECT_EQ(response.at("error").at("code"), protocol::kInvalidRequest);
    EXPECT_EQ(response.at("id"), nullptr);
  }
}

TEST_F(JsonRpcTest, OversizeErrorResponse) {
  EXPECT_EQ(OversizeErrorResponse(),
            R"({"error":{"code":-32600,"message":"message too large: over 1048576 bytes"},)"
            R"("id":null,"jsonrpc":"2.0"})");
}

TEST_F(JsonRpcTest, LineOverTheLimitGetsTheOversizeError) {
  const std::string line(protocol::kMaxMessageSize + 1, ' ');
  EXPECT_EQ(HandleRequestLine(line, dispatcher_), OversizeErrorResponse());
}

TEST_F(JsonRpcTest, DeepNestingIsRefusedWithoutParsing) {
  const std::string message =
      ExpectError(std::string(100000, '['), protocol::kInvalidRequest, nullptr);
  EXPECT_EQ(message, "invalid request: JSON nested deeper than 64 levels");
  ExpectError(std::string(500000, '{') + std::string(500000, '}'), protocol::kInvalidRequest);
}

TEST_F(JsonRpcTest, NestingUpToTheLimitIsParsed) {
  // The request object is level 1, params level 2: 62 more arrays make 64 levels.
  const std::string deep = std::string(62, '[') + std::string(62, ']');
  const json response =
      Handle(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" + deep + "}}");
  EXPECT_TRUE(response.contains("result")) << response;
  const std::string deeper = std::string(63, '[') + std::string(63, ']');
  ExpectError(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":)" + deeper + "}}",
              protocol::kInvalidRequest);
}

TEST_F(JsonRpcTest, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string text = "\\\"" + std::string(1000, '[');  // an escaped quote, then brackets
  const json response =
      Handle(R"({"jsonrpc":"2.0","id":1,"method":"echo","params":{"x":")" + text + "\"}}");
  EXPECT_EQ(response.at("result").at("x"), "\"" + std::string(1000, '['));
}

TEST_F(JsonRpcTest, GarbageBytesNeverCrashAndAlwaysGetValidJson) {
  std::mt19937 rng(12345);
  const std::string alphabet = "{}[]\":,\\ 0123456789.eE+-truefalsnl\x01\x7f\xc3\xa9\xff";
  for (int i = 0; i < 5000; ++i) {
    std::string line;
    const size_t size = rng() % 64;
    for (size_t j = 0; j < size; ++j) {
      line += (i % 2 == 0) ? alphabet[rng() % alphabet.size()] : static_cast<char>(rng() % 256);
    }
    const std::optional<std::string> response = HandleRequestLine(line, dispatcher_);
    if (!response) continue;  // a lucky notification
    EXPECT_EQ(response->find('\n'), std::string::npos);
    EXPECT_TRUE(json::accept(*response)) << *response;
  }
}

TEST(QuoteInputTest, QuotesEscapesAndTruncates) {
  EXPECT_EQ(QuoteInput("tap9"), "'tap9'");
  EXPECT_EQ(QuoteInput(""), "''");
  EXPECT_EQ(QuoteInput("a\tb\n\x7f"), R"('a\x09b\x0a\x7f')");
  EXPECT_EQ(QuoteInput("it's"), R"('it\'s')");
  EXPECT_EQ(QuoteInput(std::string(100, 'x')), "'" + std::string(64, 'x') + "...'");
  // A cut never splits a UTF-8 sequence: "é" is two bytes, and byte 64 is its second.
  EXPECT_EQ(QuoteInput(std::string(63, 'x') + "\xc3\xa9" + "tail"),
            "'" + std::string(63, 'x') + "...'");
}

}  // namespace
}  // namespace switchd
