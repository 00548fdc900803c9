// The BPE model over raw bytes: a vocabulary of byte strings, merges as (left id, right id) -> (rank,
// merged id), and the merge loop. The loop keeps the symbols of a word in a linked list and candidate
// pairs in a min-heap keyed by (rank, position), so a word of n bytes costs O(n log n), not O(n^2);
// ties go to the leftmost pair, as in the reference.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace llada {

// Hash that lets unordered_map<std::string, ...> be searched with a string_view (no allocation).
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, int32_t, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // pieces[id] are the raw bytes of token id ("" for ids the model does not define).
  // merges are (left, right) id pairs in rank order; the merged token must be in the vocabulary.
  void init(std::vector<std::string> pieces, const std::vector<std::pair<int32_t, int32_t>>& merges,
            bool ignore_merges);
  // Appends the ids of one pre-token (raw bytes) to out.
  void encode_word(std::string_view word, std::vector<int32_t>* out) const;
  int32_t byte_id(uint8_t b) const { return byte_ids_[b]; }
  int32_t find(std::string_view bytes) const {
    auto it = by_bytes_.find(bytes);
    return it == by_bytes_.end() ? -1 : it->second;
  }
  const std::string& piece(int32_t id) const { return pieces_[size_t(id)]; }
  size_t size() const { return pieces_.size(); }
  uint64_t uid() const { return uid_; }

 private:
  struct Merge {
    int32_t rank, id;
  };
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }
  void merge_word(std::string_view word, std::vector<int32_t>* out) const;
  // Merge lookup: open addressing with linear probing (one cache miss per lookup; the merge loop
  // does a few per byte). nullptr if the pair does not merge.
  const Merge* find_merge(int32_t a, int32_t b) const {
    uint64_t k = key(a, b);
    for (size_t i = slot(k);; i = (i + 1) & mask_) {
      if (slots_[i].key == k) return &slots_[i].merge;
      if (slots_[i].key == kEmpty) return nullptr;
    }
  }
  size_t slot(uint64_t k) const { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20) & mask_; }
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{};
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;

  std::vector<std::string> pieces_;
  StringIdMap by_bytes_;
  int32_t byte_ids_[256];
  bool ignore_merges_ = false;
  uint64_t uid_ = 0;  // identifies this model's entries in the per-thread word cache
};

}  // namespace llada
