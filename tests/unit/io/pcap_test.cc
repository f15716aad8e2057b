#include "switchd/io/pcap.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <gtest/gtest.h>

namespace switchd {
namespace {

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

uint32_t U32(const std::vector<uint8_t>& bytes, size_t at) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + at, 4);
  return value;
}

class PcapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("switchd-pcap-test-" + std::to_string(getpid()) + ".pcap"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  UniqueFd Open() { return UniqueFd(::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644)); }
  std::string path_;
};

TEST_F(PcapTest, WritesTheNanosecondHeaderAndRecordsAsLibpcapReadsThem) {
  Result<PcapWriter> writer = PcapWriter::Create(Open());
  ASSERT_TRUE(writer.ok()) << writer.status().message();
  std::vector<std::byte> frame(60, std::byte{0xab});
  ASSERT_TRUE(writer->Write(timespec{1700000000, 123456789}, frame));
  std::vector<std::byte> big(65000, std::byte{0x01});
  ASSERT_TRUE(writer->Write(timespec{1700000001, 5}, big));
  EXPECT_EQ(writer->records(), 2u);
  EXPECT_EQ(writer->bytes(), 65060u);
  ASSERT_TRUE(writer->Flush().ok());

  const std::vector<uint8_t> file = ReadAll(path_);
  ASSERT_EQ(file.size(), 24u + 16 + 60 + 16 + 65000);
  EXPECT_EQ(U32(file, 0), 0xa1b23c4du);  // nanosecond timestamps
  EXPECT_EQ(file[4] | file[5] << 8, 2);  // version 2.4
  EXPECT_EQ(file[6] | file[7] << 8, 4);
  EXPECT_EQ(U32(file, 16), 262144u);  // snapshot length
  EXPECT_EQ(U32(file, 20), 1u);       // Ethernet
  EXPECT_EQ(U32(file, 24), 1700000000u);
  EXPECT_EQ(U32(file, 28), 123456789u);
  EXPECT_EQ(U32(file, 32), 60u);  // captured
  EXPECT_EQ(U32(file, 36), 60u);  // on the wire
  EXPECT_EQ(file[40], 0xab);
  EXPECT_EQ(U32(file, 100 + 8), 65000u);
}

TEST_F(PcapTest, BuffersUntilFlushed) {
  Result<PcapWriter> writer = PcapWriter::Create(Open());
  ASSERT_TRUE(writer.ok());
  std::vector<std::byte> frame(100, std::byte{0});
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->Write(timespec{1, 0}, frame));
  EXPECT_EQ(ReadAll(path_).size(), 24u) << "records wait in the buffer";
  ASSERT_TRUE(writer->Flush().ok());
  EXPECT_EQ(ReadAll(path_).size(), 24u + 10 * 116);
  // More than a buffer's worth goes out by itself.
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(writer->Write(timespec{1, 0}, frame));
  EXPECT_GT(ReadAll(path_).size(), 24u + PcapWriter::kBufferSize / 2);
}

TEST_F(PcapTest, AFailedWriteIsReportedAndStopsTheFile) {
  // /dev/full: every write fails with ENOSPC.
  Result<PcapWriter> writer = PcapWriter::Create(UniqueFd(::open("/dev/full", O_WRONLY)));
  ASSERT_FALSE(writer.ok());
  EXPECT_EQ(writer.status().message(), "No space left on device");
}

}  // namespace
}  // namespace switchd
