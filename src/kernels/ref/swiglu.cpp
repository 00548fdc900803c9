// SwiGLU, the spec: out = silu(g) * u, silu(g) = g * sigmoid(g).
// d/dg silu(g) = sigmoid(g) * (1 + g * (1 - sigmoid(g))).
#include <cmath>

#include "kernels/ops.h"

namespace llada::kernels::ref {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate,
                     const float* up, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], u = up[i], d = dout[i];
    const float sig = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = d * u * sig * (1.0f + g * (1.0f - sig));
    dup[i] = d * g * sig;
  }
}

}  // namespace llada::kernels::ref
