#include "switchd/control/config.h"

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace switchd {
namespace {

using nlohmann::json;

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  Result<Config> config = ParseConfig(json::object());
  ASSERT_TRUE(config.ok());
  EXPECT_FALSE(config->socket);
  EXPECT_FALSE(config->max_macs);
  EXPECT_TRUE(config->ports.empty());
}

TEST(ConfigTest, ReadsEveryKey) {
  Result<Config> config = ParseConfig(json::parse(R"({
    "socket": "/tmp/s.sock", "log_level": "debug", "max_macs": 100, "aging": 5,
    "ports": ["tap0", "tap1:tap", {"name": "tap2", "kind": "tap"}],
    "macs": [{"mac": "02:00:00:00:00:01", "port": "tap0"}],
    "arp": [{"ip": "198.18.0.1", "mac": "02:00:00:00:00:01"}]})"));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(*config->socket, "/tmp/s.sock");
  EXPECT_EQ(*config->log_level, "debug");
  EXPECT_EQ(*config->max_macs, 100u);
  EXPECT_EQ(*config->aging_seconds, 5);
  ASSERT_EQ(config->ports.size(), 3u);
  EXPECT_EQ(config->ports[1].name, "tap1");
  EXPECT_EQ(config->ports[1].kind, "tap");
  EXPECT_EQ(config->ports[2].name, "tap2");
  ASSERT_EQ(config->macs.size(), 1u);
  EXPECT_EQ(config->macs[0]["port"], "tap0");
  ASSERT_EQ(config->arp.size(), 1u);
}

TEST(ConfigTest, RejectsUnknownKeyNamingIt) {
  Result<Config> config = ParseConfig(json::parse(R"({"max_mac": 10})"));
  ASSERT_FALSE(config.ok());
  EXPECT_NE(config.status().message().find("unknown key 'max_mac'"), std::string::npos);
}

TEST(ConfigTest, RejectsOutOfRangeValuesQuotingThem) {
  Result<Config> small = ParseConfig(json::parse(R"({"max_macs": 1})"));
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.status().message().find("'max_macs'"), std::string::npos);
  EXPECT_NE(small.status().message().find("got 1"), std::string::npos);
  EXPECT_FALSE(ParseConfig(json::parse(R"({"aging": 0})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"aging": "300"})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": "tap0"})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": [{"name": "t", "colour": 1}]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"ports": [{"kind": "tap"}]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"({"macs": ["02:00:00:00:00:01"]})")).ok());
  EXPECT_FALSE(ParseConfig(json::parse(R"([1, 2])")).ok());
}

TEST(ConfigTest, ParsesPortArgument) {
  Result<PortRequest> plain = ParsePortArgument("tap0");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->name, "tap0");
  EXPECT_EQ(plain->kind, "tap");
  Result<PortRequest> kinded = ParsePortArgument("vm0:vm");
  ASSERT_TRUE(kinded.ok());
  EXPECT_EQ(kinded->kind, "vm");
  EXPECT_FALSE(ParsePortArgument("").ok());
  EXPECT_FALSE(ParsePortArgument(":tap").ok());
  EXPECT_FALSE(ParsePortArgument("tap0:").ok());
}

TEST(ConfigTest, LoadFileReportsMissingFileAndBadJson) {
  Result<Config> missing = LoadConfigFile("/nonexistent/switchd.json");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("cannot read config '/nonexistent/switchd.json'"),
            std::string::npos);

  std::filesystem::path path = std::filesystem::temp_directory_path() / "switchd-config-test.json";
  std::ofstream(path) << "{\"ports\": [\"tap0\",]}";
  Result<Config> bad = LoadConfigFile(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("is not valid JSON: parse error at line 1"),
            std::string::npos)
      << bad.status().message();

  std::ofstream(path) << R"({"ports": ["tap0"], "aging": 10})";
  Result<Config> good = LoadConfigFile(path);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good->ports.size(), 1u);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace switchd
