// FlatIndex: a fixed-size open-addressing hash index from 64-bit keys to slot numbers of a slab
// that the caller owns (MacTable, ArpTable). Internal to the core.
//
// The index stores only 32-bit slot numbers, so a bucket costs 4 bytes; the caller keeps the keys
// in its slab and hands the index a `key_of(slot)` function to read them back. Linear probing at
// no more than 50% load; erasing shifts the following entries back (no tombstones), so probe
// sequences stay short however much the table churns. All storage is allocated by the
// constructor; nothing afterwards. Keys are hashed with a random per-index seed, so that whoever
// chooses the keys (source MACs on the wire) cannot aim them all at one probe sequence.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace switchd {

class FlatIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // An index for up to `capacity` slots (numbered 0..capacity-1, capacity < UINT32_MAX).
  explicit FlatIndex(size_t capacity);

  // The number of buckets an index for `capacity` slots uses: a power of two >= 2 * capacity.
  static size_t BucketCount(size_t capacity);
  size_t bucket_count() const { return buckets_.size(); }

  // The slot holding `key`, or kNone. `key_of(slot)` returns the key stored in a slot.
  template <typename KeyOf>
  uint32_t Find(uint64_t key, const KeyOf& key_of) const {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      const uint32_t slot = buckets_[i];
      if (slot == kNone || key_of(slot) == key) return slot;
    }
  }

  // Indexes `slot` under `key`. Precondition: `key` is not indexed and fewer than `capacity`
  // slots are.
  void Insert(uint64_t key, uint32_t slot) {
    size_t i = Home(key);
    while (buckets_[i] != kNone) i = (i + 1) & mask_;
    buckets_[i] = slot;
  }

  // Removes `slot`, indexed under `key`. Precondition: it is indexed. `key_of` as for Find.
  template <typename KeyOf>
  void Erase(uint64_t key, uint32_t slot, const KeyOf& key_of) {
    size_t hole = Home(key);
    while (buckets_[hole] != slot) hole = (hole + 1) & mask_;
    // Backward-shift deletion: move each later entry of the cluster into the hole unless its home
    // bucket lies cyclically in (hole, i], where moving it would put it before its home.
    for (size_t i = (hole + 1) & mask_; buckets_[i] != kNone; i = (i + 1) & mask_) {
      const size_t home = Home(key_of(buckets_[i]));
      const bool home_in_gap = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
      if (!home_in_gap) {
        buckets_[hole] = buckets_[i];
        hole = i;
      }
    }
    buckets_[hole] = kNone;
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

  std::vector<uint32_t> buckets_;
  size_t mask_;
  uint64_t seed_;
};

}  // namespace switchd
