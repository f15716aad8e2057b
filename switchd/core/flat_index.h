// FlatIndex: a fixed-size open-addressing hash index from 64-bit keys to slot numbers of a slab
// that the caller owns (MacTable, ArpTable), with one 32-bit value beside each slot number.
// Internal to the core.
//
// A bucket holds the key, the slot and the value (16 bytes, four to a cache line), so a lookup
// that needs only the value (the MAC table's port) touches one cache line and never the slab: at a
// million entries that is one memory miss per lookup instead of two. Linear probing at no more
// than 50% load; erasing shifts the following entries back (no tombstones), so probe sequences
// stay short however much the table churns. All storage is allocated by the constructor; nothing
// afterwards. Keys are hashed with a random per-index seed, so that whoever chooses the keys
// (source MACs on the wire) cannot aim them all at one probe sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchd {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Bucket {
    uint64_t key = 0;
    uint32_t slot = kNone;  // kNone: the bucket is empty
    uint32_t value = 0;
  };

  // An index for up to `capacity` slots (numbered 0..capacity-1, capacity < UINT32_MAX).
  explicit FlatIndex(size_t capacity);

  // The number of buckets an index for `capacity` slots uses: a power of two >= 2 * capacity.
  static size_t BucketCount(size_t capacity);
  static constexpr size_t kBucketSize = sizeof(Bucket);
  size_t bucket_count() const { return buckets_.size(); }

  // The bucket holding `key`, or nullptr.
  const Bucket* Find(uint64_t key) const {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      const Bucket& bucket = buckets_[i];
      if (bucket.slot == kNone) return nullptr;
      if (bucket.key == key) return &bucket;
    }
  }
  Bucket* Find(uint64_t key) {
    return const_cast<Bucket*>(static_cast<const FlatIndex*>(this)->Find(key));
  }
  // The slot holding `key`, or kNone.
  uint32_t FindSlot(uint64_t key) const {
    const Bucket* bucket = Find(key);
    return bucket ? bucket->slot : kNone;
  }

  // Indexes `slot` with `value` under `key`. Precondition: `key` is not indexed and fewer than
  // `capacity` slots are.
  void Insert(uint64_t key, uint32_t slot, uint32_t value) {
    size_t i = Home(key);
    while (buckets_[i].slot != kNone) i = (i + 1) & mask_;
    buckets_[i] = Bucket{key, slot, value};
  }

  // Removes `key`. Precondition: it is indexed.
  void Erase(uint64_t key) {
    size_t hole = Home(key);
    while (buckets_[hole].key != key || buckets_[hole].slot == kNone) hole = (hole + 1) & mask_;
    // Backward-shift deletion: move each later entry of the cluster into the hole unless its home
    // bucket lies cyclically in (hole, i], where moving it would put it before its home.
    for (size_t i = (hole + 1) & mask_; buckets_[i].slot != kNone; i = (i + 1) & mask_) {
      const size_t home = Home(buckets_[i].key);
      const bool home_in_gap = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!home_in_gap) {
        buckets_[hole] = buckets_[i];
        hole = i;
      }
    }
    buckets_[hole] = Bucket{};
  }

 private:
  size_t Home(uint64_t key) const {
    // splitmix64's finalizer over the seeded key: every input bit affects the low bits we keep.
    uint64_t x = key ^ seed_;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<size_t>(x) & mask_;
  }

  std::vector<Bucket> buckets_;
  size_t mask_;
  uint64_t seed_;
};

}  // namespace switchd
