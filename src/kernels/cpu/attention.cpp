// Attention, fast. Work is split into (batch, head, query tile) tasks over OpenMP threads; each
// task computes its score tile S = Q·Kᵀ and the output P·V with single-threaded oneDNN gemms
// (strided views straight into q/k/v, no copies) and does the masked softmax in between with a
// vectorised exp. With a causal mask only the key columns some row of the tile can see are
// computed. The scores are written straight into `probs` when the caller keeps them, else into the
// per-thread scratch tile (then the 1/sum normalisation is applied to the output rows instead).
// Query tiles are 256 rows: the fastest of 64/128/256/512 measured (docs/bench/kernels.md).
// The scratch holds one tile per thread of omp_get_max_threads() at the time
// attention_scratch_floats() is called, so size it after any set_num_threads().
//
// Backward is split over (batch, kv head) so the heads of a GQA group, which all add into the
// same dk/dv rows, run on one thread: per query tile, dP = dO·Vᵀ, dS = P∘(dP - rowsum(P∘dP))·scale,
// dQ = dS·K, dK += dSᵀ·Q, dV += Pᵀ·dO. With bf16_products every product is kernels::gemm_bf16
// (AMX tiles where the CPU has them), forward and backward.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/parallel.h"
#include "kernels/cpu/bf16_convert.h"
#include "kernels/cpu/fast_math.h"
#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "kernels/packed_matmul.h"

namespace llada::kernels {
namespace {

constexpr int64_t kQTile = 256;

int64_t qtile(const AttnShape& s) { return std::min<int64_t>(kQTile, std::max<int64_t>(s.Tq, 1)); }

void check_shape(const AttnShape& s) {
  LLADA_CHECK(s.B >= 0 && s.Tq >= 0 && s.Tk >= 0 && s.hd > 0 && s.H > 0 && s.KVH > 0,
              "attention: bad shape B=%lld Tq=%lld Tk=%lld H=%lld KVH=%lld hd=%lld", (long long)s.B,
              (long long)s.Tq, (long long)s.Tk, (long long)s.H, (long long)s.KVH, (long long)s.hd);
  LLADA_CHECK(s.H % s.KVH == 0, "attention: n_heads %lld not a multiple of n_kv_heads %lld",
              (long long)s.H, (long long)s.KVH);
}

// Number of key columns any row of query tile [t0, t0+tq) can see under the causal rule.
int64_t key_cols(const AttnShape& s, int64_t t0, int64_t tq) {
  if (!s.causal) return s.Tk;
  return std::clamp<int64_t>(s.q_pos0 + t0 + tq, 0, s.Tk);
}

int threads() { return omp_in_parallel() ? 1 : omp_get_max_threads(); }

// Per-thread scratch of the forward: the score tile, then (packed kernels) the head's keys and
// values packed for kernels/packed_matmul.h, each rounded to 16 floats.
int64_t round16(int64_t n) { return (n + 15) / 16 * 16; }
int64_t packed_kv_floats(const AttnShape& s) {
  const int64_t Tk = std::max<int64_t>(s.Tk, 1);
  return packed_gemm_native(DType::F32)
             ? round16(packed_f32_floats(Tk, s.hd)) + round16(packed_f32_floats(s.hd, Tk))
             : 0;
}
// With bf16 products, two bf16 tiles of the same size after that (one tile of floats): each row
// of the probabilities (and, backward, of dS) is rounded once, while it is hot, for its products.
int64_t tile_floats(const AttnShape& s) { return round16(qtile(s) * std::max<int64_t>(s.Tk, 1)); }
int64_t thread_scratch_floats(const AttnShape& s) {
  return tile_floats(s) + packed_kv_floats(s) + (s.bf16_products ? tile_floats(s) : 0);
}
bf16_t* bf16_tiles(float* thread_scratch, const AttnShape& s) {
  return s.bf16_products ? reinterpret_cast<bf16_t*>(thread_scratch + tile_floats(s) + packed_kv_floats(s))
                         : nullptr;
}

}  // namespace

int64_t attention_scratch_floats(const AttnShape& s) {
  return int64_t(threads()) * thread_scratch_floats(s);
}

void attention_forward(float* out, float* probs, const float* q, const float* k, const float* v,
                       const uint8_t* key_mask, const AttnShape& s, float* scratch) {
  check_shape(s);
  const int64_t QT = qtile(s), ntiles = (s.Tq + QT - 1) / QT, group = s.H / s.KVH, hd = s.hd;
  const int64_t tasks = s.B * s.H * ntiles;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int nthr = threads();
  // The products run on our packed micro-kernel when the CPU has it: the keys and values of the
  // head are packed once per task (a 1/tq share of the work) and there is no per-shape set-up,
  // which oneDNN pays for every new key count (caches grow by a block at a time).
  const bool packed = packed_gemm_native(DType::F32) && !s.bf16_products;
  const auto gemm = s.bf16_products ? kernels::gemm_bf16 : kernels::gemm;
  const int64_t per_thread = thread_scratch_floats(s), kv_off = round16(QT * std::max<int64_t>(s.Tk, 1));
  ParallelErrors errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) if (nthr > 1 && tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    errors.run([&] {
      const int64_t b = task / (s.H * ntiles), h = task / ntiles % s.H, tile = task % ntiles;
      const int64_t g = h / group, t0 = tile * QT, tq = std::min(QT, s.Tq - t0);
      const int64_t kc = key_cols(s, t0, tq);
      float* mine = scratch + int64_t(omp_get_thread_num()) * per_thread;
      float* S = probs ? probs + ((b * s.H + h) * s.Tq + t0) * s.Tk : mine;
      float* kp = mine + kv_off;
      float* vp = kp + round16(packed_f32_floats(std::max<int64_t>(s.Tk, 1), hd));
      bf16_t* Pb = bf16_tiles(mine, s);  // P rounded, [tq, kc], when the products are bf16
      const float* qt = q + b * s.q_bs + (t0 * s.H + h) * hd;
      const float* kg = k + b * s.kv_bs + g * hd;
      const float* vg = v + b * s.kv_bs + g * hd;
      float* ot = out + b * s.q_bs + (t0 * s.H + h) * hd;
      if (kc > 0 && packed) {
        pack_f32(kp, kg, kc, hd, s.KVH * hd, /*kn=*/false);
        gemm_packed_f32_serial(tq, qt, s.H * hd, kp, kc, hd, S, s.Tk);
      } else if (kc > 0) {
        gemm(tq, kc, hd, Operand{qt, DType::F32, s.H * hd, false},
             Operand{kg, DType::F32, s.KVH * hd, true}, S, s.Tk, 0.0f);
      }
      const uint8_t* mask = key_mask ? key_mask + b * s.Tk : nullptr;
      // Softmax per row: scale folded into the exp; without `probs` the 1/sum normalisation is
      // applied to the hd-wide output row instead of the Tk-wide probability row.
      float inv_sum[kQTile];
      for (int64_t r = 0; r < tq; ++r) {
        float* p = S + r * s.Tk;
        // Visible keys of this row: the causal limit, then the padding mask.
        const int64_t lim = s.causal ? std::clamp<int64_t>(s.q_pos0 + t0 + r + 1, 0, s.Tk) : s.Tk;
        float mx = -INFINITY;
        if (mask) {
  #pragma omp simd reduction(max : mx)
          for (int64_t j = 0; j < lim; ++j) mx = std::max(mx, mask[j] ? p[j] : -INFINITY);
        } else {
          mx = cpu::max_of(p, lim);
        }
        // Keys beyond the row's limit (computed or not) get probability zero.
        std::fill(p + lim, p + (probs ? s.Tk : kc), 0.0f);
        if (mx == -INFINITY) {  // no visible key: zero probabilities, zero output
          std::fill(p, p + lim, 0.0f);
          inv_sum[r] = 0.0f;
          if (Pb) cpu::f32_to_bf16_row(Pb + r * kc, p, kc);
          continue;
        }
        float sum = 0.0f;
        if (mask) {
  #pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < lim; ++j) {
            const float e = cpu::exp_fast((p[j] - mx) * scale);
            p[j] = mask[j] ? e : 0.0f;
            sum += p[j];
          }
        } else {
  #pragma omp simd reduction(+ : sum)
          for (int64_t j = 0; j < lim; ++j) {
            p[j] = cpu::exp_fast((p[j] - mx) * scale);
            sum += p[j];
          }
        }
        inv_sum[r] = 1.0f / sum;
        if (probs) {
          const float inv = inv_sum[r];
  #pragma omp simd
          for (int64_t j = 0; j < lim; ++j) p[j] *= inv;
        }
        if (Pb) cpu::f32_to_bf16_row(Pb + r * kc, p, kc);
      }
      if (kc > 0) {
        if (packed) {
          pack_f32(vp, vg, hd, kc, s.KVH * hd, /*kn=*/true);
          gemm_packed_f32_serial(tq, S, s.Tk, vp, hd, kc, ot, s.H * hd);
        } else {
          const Operand P = Pb ? Operand{Pb, DType::BF16, kc, false} : Operand{S, DType::F32, s.Tk, false};
          gemm(tq, hd, kc, P, Operand{vg, DType::F32, s.KVH * hd, false}, ot, s.H * hd, 0.0f);
        }
        if (!probs)
          for (int64_t r = 0; r < tq; ++r) {
            float* o = ot + r * s.H * hd;
            const float inv = inv_sum[r];
  #pragma omp simd
            for (int64_t d = 0; d < hd; ++d) o[d] *= inv;
          }
      } else {
        for (int64_t r = 0; r < tq; ++r) std::fill(ot + r * s.H * hd, ot + r * s.H * hd + hd, 0.0f);
      }
    });
  }
  errors.rethrow();
}

void attention_backward(float* dq, float* dk, float* dv, const float* dout, const float* probs,
                        const float* q, const float* k, const float* v, const AttnShape& s,
                        float* scratch) {
  check_shape(s);
  LLADA_CHECK(probs != nullptr, "attention_backward: probs from the forward pass are required");
  const int64_t QT = qtile(s), ntiles = (s.Tq + QT - 1) / QT, group = s.H / s.KVH, hd = s.hd;
  const int64_t tasks = s.B * s.KVH;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int nthr = threads();
  const auto gemm = s.bf16_products ? kernels::gemm_bf16 : kernels::gemm;
  ParallelErrors errors;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthr) if (nthr > 1 && tasks > 1)
  for (int64_t task = 0; task < tasks; ++task) {
    errors.run([&] {
      const int64_t b = task / s.KVH, g = task % s.KVH;
      float* mine = scratch + int64_t(omp_get_thread_num()) * thread_scratch_floats(s);
      float* dS = mine;
      // bf16 products: dS and P rounded row by row as dS is formed, each read by two products.
      bf16_t* dSb = bf16_tiles(mine, s);
      bf16_t* Pb = dSb ? dSb + QT * s.Tk : nullptr;
      const float* kg = k + b * s.kv_bs + g * hd;
      const float* vg = v + b * s.kv_bs + g * hd;
      float* dkg = dk + b * s.kv_bs + g * hd;
      float* dvg = dv + b * s.kv_bs + g * hd;
      for (int64_t j = 0; j < s.Tk; ++j) {
        std::fill(dkg + j * s.KVH * hd, dkg + j * s.KVH * hd + hd, 0.0f);
        std::fill(dvg + j * s.KVH * hd, dvg + j * s.KVH * hd + hd, 0.0f);
      }
      for (int64_t h = g * group; h < (g + 1) * group; ++h)
        for (int64_t tile = 0; tile < ntiles; ++tile) {
          const int64_t t0 = tile * QT, tq = std::min(QT, s.Tq - t0);
          const int64_t kc = key_cols(s, t0, tq);
          const float* P = probs + ((b * s.H + h) * s.Tq + t0) * s.Tk;
          const float* go = dout + b * s.q_bs + (t0 * s.H + h) * hd;
          const float* qt = q + b * s.q_bs + (t0 * s.H + h) * hd;
          float* dqt = dq + b * s.q_bs + (t0 * s.H + h) * hd;
          if (kc == 0) {
            for (int64_t r = 0; r < tq; ++r)
              std::fill(dqt + r * s.H * hd, dqt + r * s.H * hd + hd, 0.0f);
            continue;
          }
          const int64_t ldq = s.H * hd, ldkv = s.KVH * hd;
          gemm(tq, kc, hd, Operand{go, DType::F32, ldq, false}, Operand{vg, DType::F32, ldkv, true},
               dS, s.Tk, 0.0f);
          for (int64_t r = 0; r < tq; ++r) {
            const float* p = P + r * s.Tk;
            float* d = dS + r * s.Tk;
            float pdp = 0.0f;
  #pragma omp simd reduction(+ : pdp)
            for (int64_t j = 0; j < kc; ++j) pdp += p[j] * d[j];
  #pragma omp simd
            for (int64_t j = 0; j < kc; ++j) d[j] = p[j] * (d[j] - pdp) * scale;
            if (dSb) {
              cpu::f32_to_bf16_row(dSb + r * kc, d, kc);
              cpu::f32_to_bf16_row(Pb + r * kc, p, kc);
            }
          }
          const Operand dSo = dSb ? Operand{dSb, DType::BF16, kc, false} : Operand{dS, DType::F32, s.Tk, false};
          const Operand dSt = dSb ? Operand{dSb, DType::BF16, kc, true} : Operand{dS, DType::F32, s.Tk, true};
          const Operand Pt = Pb ? Operand{Pb, DType::BF16, kc, true} : Operand{P, DType::F32, s.Tk, true};
          gemm(tq, hd, kc, dSo, Operand{kg, DType::F32, ldkv, false}, dqt, ldq, 0.0f);
          gemm(kc, hd, tq, dSt, Operand{qt, DType::F32, ldq, false}, dkg, ldkv, 1.0f);
          gemm(kc, hd, tq, Pt, Operand{go, DType::F32, ldq, false}, dvg, ldkv, 1.0f);
        }
    });
  }
  errors.rethrow();
}

}  // namespace llada::kernels
