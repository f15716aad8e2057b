#include "switchd/core/flat_index.h"

#include <random>

namespace switchd {

size_t FlatIndex::BucketCount(size_t capacity) {
  // At most half full keeps linear probes short and guarantees every probe meets an empty bucket.
  size_t buckets = 2;
  while (buckets < 2 * capacity) buckets *= 2;
  return buckets;
}

FlatIndex::FlatIndex(size_t capacity)
    : buckets_(BucketCount(capacity)), mask_(buckets_.size() - 1) {
  // Read once per table, at construction: the only entropy the core ever asks for.
  std::random_device random;
  seed_ = (static_cast<uint64_t>(random()) << 32) | random();
}

}  // namespace switchd
