#include "tokenizer/bpe.h"

#include <algorithm>
#include <atomic>

#include "core/error.h"

namespace llada {

void BpeModel::init(std::vector<std::string> pieces,
                    const std::vector<std::pair<int32_t, int32_t>>& merges, bool ignore_merges) {
  static std::atomic<uint64_t> next_uid{1};
  uid_ = next_uid++;
  pieces_ = std::move(pieces);
  ignore_merges_ = ignore_merges;
  by_bytes_.clear();
  by_bytes_.reserve(pieces_.size());
  for (size_t id = 0; id < pieces_.size(); ++id) {
    if (!pieces_[id].empty()) by_bytes_.emplace(pieces_[id], int32_t(id));
  }
  for (int b = 0; b < 256; ++b) byte_ids_[b] = find(std::string_view(reinterpret_cast<const char*>(&b), 1));
  size_t cap = 16;
  while (cap < merges.size() * 2) cap *= 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (size_t r = 0; r < merges.size(); ++r) {
    auto [a, b] = merges[r];
    int32_t m = find(pieces_[size_t(a)] + pieces_[size_t(b)]);
    LLADA_ASSERT(m >= 0);
    uint64_t k = key(a, b);
    size_t i = slot(k);
    while (slots_[i].key != kEmpty && slots_[i].key != k) i = (i + 1) & mask_;
    if (slots_[i].key == k) continue;  // a repeated pair keeps its first (best) rank
    slots_[i].key = k;
    slots_[i].merge = Merge{int32_t(r), m};
  }
}

namespace {

// Scratch space of the merge loop, reused across words so the hot path does not allocate.
struct MergeScratch {
  std::vector<int32_t> id, next, prev;
  struct Cand {
    int32_t rank, pos, left, right;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Cand> heap;
};

// Per-thread cache of frequent words: word bytes -> ids in a shared pool. When full it stops taking new
// words (the first ones seen are the frequent ones; clearing it made text with many distinct words,
// such as Chinese poetry, pay for the churn). Reset when a different model uses the thread.
struct WordCache {
  uint64_t owner = 0;
  StringIdMap index;  // word -> offset in pool; the length is stored at pool[offset]
  std::vector<int32_t> pool;
  static constexpr size_t kMaxWords = 1 << 17;
  static constexpr size_t kMaxWordBytes = 256;
};

}  // namespace

void BpeModel::merge_word(std::string_view word, std::vector<int32_t>* out) const {
  thread_local MergeScratch s;
  const int32_t n = int32_t(word.size());
  s.id.resize(size_t(n));
  s.next.resize(size_t(n));
  s.prev.resize(size_t(n));
  s.heap.clear();
  auto greater = [](const MergeScratch::Cand& a, const MergeScratch::Cand& b) { return a > b; };
  for (int32_t i = 0; i < n; ++i) {
    s.id[size_t(i)] = byte_ids_[static_cast<uint8_t>(word[size_t(i)])];
    s.next[size_t(i)] = i + 1 < n ? i + 1 : -1;
    s.prev[size_t(i)] = i - 1;
  }
  auto push = [&](int32_t pos) {
    int32_t nx = s.next[size_t(pos)];
    if (nx < 0) return;
    const Merge* m = find_merge(s.id[size_t(pos)], s.id[size_t(nx)]);
    if (!m) return;
    s.heap.push_back({m->rank, pos, s.id[size_t(pos)], s.id[size_t(nx)]});
    std::push_heap(s.heap.begin(), s.heap.end(), greater);
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), greater);
    MergeScratch::Cand c = s.heap.back();
    s.heap.pop_back();
    // Stale candidates: either side changed since it was pushed (merges only grow tokens, so equal
    // ids mean the same symbols).
    int32_t nx = s.next[size_t(c.pos)];
    if (s.id[size_t(c.pos)] != c.left || nx < 0 || s.id[size_t(nx)] != c.right) continue;
    s.id[size_t(c.pos)] = find_merge(c.left, c.right)->id;
    s.id[size_t(nx)] = -2;  // dead
    int32_t nn = s.next[size_t(nx)];
    s.next[size_t(c.pos)] = nn;
    if (nn >= 0) s.prev[size_t(nn)] = c.pos;
    if (s.prev[size_t(c.pos)] >= 0) push(s.prev[size_t(c.pos)]);
    push(c.pos);
  }
  for (int32_t i = 0; i >= 0; i = s.next[size_t(i)]) out->push_back(s.id[size_t(i)]);
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>* out) const {
  if (word.empty()) return;
  if (word.size() == 1) {
    out->push_back(byte_ids_[static_cast<uint8_t>(word[0])]);
    return;
  }
  if (word.size() > WordCache::kMaxWordBytes) {
    if (ignore_merges_) {
      int32_t id = find(word);
      if (id >= 0) return out->push_back(id);
    }
    merge_word(word, out);
    return;
  }
  // The cache is consulted first: one hash lookup for a frequent word, whatever path made its ids.
  thread_local WordCache cache;
  if (cache.owner != uid_) {
    cache.owner = uid_;
    cache.index.clear();
    cache.pool.clear();
  }
  auto it = cache.index.find(word);
  if (it != cache.index.end()) {
    const int32_t* p = cache.pool.data() + it->second;
    out->insert(out->end(), p + 1, p + 1 + p[0]);
    return;
  }
  size_t before = out->size();
  int32_t whole = ignore_merges_ ? find(word) : -1;
  if (whole >= 0) {
    out->push_back(whole);
  } else {
    merge_word(word, out);
  }
  if (cache.index.size() >= WordCache::kMaxWords) return;
  cache.index.emplace(std::string(word), int32_t(cache.pool.size()));
  cache.pool.push_back(int32_t(out->size() - before));
  cache.pool.insert(cache.pool.end(), out->begin() + std::ptrdiff_t(before), out->end());
}

}  // namespace llada
