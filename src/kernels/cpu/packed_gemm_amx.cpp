// The AMX tile kernel for packed bf16 weights (kernels/packed_matmul.h, packed_tiles.h).
// Tiles: 0-3 hold a 32 x 32 block of C as four 16x16 f32 tiles, 4-5 two 16-row slices of A
// (16 rows x 32 bf16 = one k step of 16 pairs), 6-7 the two 16-column halves of the panel's k
// step (16 pairs x 16 columns x 2 bf16: exactly the panel layout, read with a 128-byte stride).
#include "kernels/cpu/packed_tiles.h"

#if defined(LLADA_PACKED_AMX)

namespace llada::kernels::cpu {
namespace {

struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {};
  uint8_t rows[16] = {};
};

}  // namespace

LLADA_AMX_TARGET void amx_configure() {
  TileConfig cfg;
  for (int t = 0; t < 8; ++t) {
    cfg.rows[t] = 16;
    cfg.colsb[t] = 64;
  }
  // Not _tile_loadconfig: GCC 12's version tells the compiler it reads only the first 8 bytes of
  // the configuration, so the stores of rows and colsb above were removed as dead (seen: SIGILL
  // on the first tilezero). The operand here is the whole 64-byte object.
  __asm__ volatile("ldtilecfg %0" : : "m"(cfg));
}

LLADA_AMX_TARGET void amx_release() { _tile_release(); }

namespace {

// One block: rows [0, 16*MT) of A (row stride sa bytes) times one panel, K2p pairs (a multiple
// of 16); the f32 results go to buf (16*MT rows x 32 floats).
template <int MT>
LLADA_AMX_TARGET void amx_block(int64_t K2p, const char* a, int64_t sa, const char* b, float* buf,
                                const char* pf, int64_t npf) {
  const int64_t pf_per_step = (npf + K2p / kAmxK2 - 1) / (K2p / kAmxK2);
  _tile_zero(0);
  _tile_zero(1);
  if constexpr (MT == 2) {
    _tile_zero(2);
    _tile_zero(3);
  }
  for (int64_t kk = 0; kk < K2p; kk += kAmxK2) {
    const char* bk = b + kk * kNR * 4;  // 16 pairs x 32 columns x 2 bf16 = 2 KB per k step
    _tile_loadd(6, bk, kNR * 4);
    _tile_loadd(7, bk + 64, kNR * 4);
    _tile_loadd(4, a + kk * 4, sa);
    _tile_dpbf16ps(0, 4, 6);
    _tile_dpbf16ps(1, 4, 7);
    if constexpr (MT == 2) {
      _tile_loadd(5, a + 16 * sa + kk * 4, sa);
      _tile_dpbf16ps(2, 5, 6);
      _tile_dpbf16ps(3, 5, 7);
    }
    for (int64_t i = 0; i < pf_per_step && npf > 0; ++i, --npf, pf += 64) _mm_prefetch(pf, _MM_HINT_T0);
  }
  _tile_stored(0, buf, kNR * 4);
  _tile_stored(1, buf + 16, kNR * 4);
  if constexpr (MT == 2) {
    _tile_stored(2, buf + 16 * kNR, kNR * 4);
    _tile_stored(3, buf + 16 * kNR + 16, kNR * 4);
  }
}

// C rows [0, mr) x columns [0, nvalid) = beta*C + buf.
void amx_store(const float* buf, int mr, float* C, int64_t ldc, float beta, int nvalid) {
  const __mmask16 m0 = tail_mask(nvalid), m1 = tail_mask(std::max(nvalid - 16, 0));
  for (int i = 0; i < mr; ++i)
    store_row(C + i * ldc, _mm512_loadu_ps(buf + i * kNR), _mm512_loadu_ps(buf + i * kNR + 16), m0,
              m1, beta);
}

}  // namespace

// The tile registers must be configured on this thread (amx_configure).
void run_tiles_amx(int64_t t0, int64_t t1, int64_t M, int64_t N, int64_t K2p, const uint32_t* ab,
                   int64_t as, const void* packed, float* C, int64_t ldc, float beta) {
  alignas(64) float buf[kAmxRows * kNR];
  const int64_t blocks = amx_row_blocks(M);
  for (int64_t ti = t0; ti < t1; ++ti) {
    const int64_t pi = ti / blocks, bi = ti % blocks;
    const int64_t r0 = bi * kAmxRows;
    const int mr = int(std::min<int64_t>(kAmxRows, M - r0));
    const int nvalid = int(std::min<int64_t>(kNR, N - pi * kNR));
    const char* a = reinterpret_cast<const char*>(ab + r0 * as);
    const char* b = static_cast<const char*>(packed) + pi * K2p * kNR * 4;
    // As in run_tiles: each block of a panel prefetches its share of the next panel (tile loads
    // that miss go to DRAM one 64-byte line at a time; inference streams every weight once).
    const int64_t panel_bytes = K2p * kNR * 4, lines = panel_bytes / 64;
    const int64_t l0 = lines * bi / blocks, l1 = lines * (bi + 1) / blocks;
    const char* pf = static_cast<const char*>(packed) + (pi + 1) * panel_bytes + l0 * 64;
    const int64_t npf = (pi + 1) * kNR < N ? l1 - l0 : 0;
    if (mr > 16)
      amx_block<2>(K2p, a, as * 4, b, buf, pf, npf);
    else
      amx_block<1>(K2p, a, as * 4, b, buf, pf, npf);
    amx_store(buf, mr, C + r0 * ldc + pi * kNR, ldc, beta, nvalid);
  }
}

}  // namespace llada::kernels::cpu

#endif  // LLADA_PACKED_AMX
