// N-API bindings of the loss kernels (native/kernels/loss.h): lengths and class indices are
// checked here, before any kernel reads memory with them.
#include <string>

#include "../kernels/loss.h"
#include "args.h"

namespace nl {
namespace {

// softmaxForward(x, rows, cols, y, log)
void SoftmaxForward(const Args& a) {
  const int64_t rows = a.int64(1), cols = a.int64(2);
  const float* x = a.f32(0, rows * cols);
  float* y = a.f32(3, rows * cols);
  const bool log_out = a.flag(4);
  softmax_forward(x, rows, cols, y, log_out);
}

// softmaxBackward(y, gy, rows, cols, gx, log)
void SoftmaxBackward(const Args& a) {
  const int64_t rows = a.int64(2), cols = a.int64(3);
  const float* y = a.f32(0, rows * cols);
  const float* gy = a.f32(1, rows * cols);
  float* gx = a.f32(4, rows * cols);
  const bool log_out = a.flag(5);
  softmax_backward(y, gy, rows, cols, gx, log_out);
}

// The class indices at argument i: an Int32Array of at least N.
const int32_t* targets(const Args& a, size_t i, int64_t N) {
  Span<int32_t> t = a.i32(i);
  if (static_cast<int64_t>(t.size) < N) a.fail(i, "must hold at least " + std::to_string(N) + " class indices");
  return t.data;
}

// Checks class indices against [0, C) (ignoreIndex allowed) before any kernel reads memory
// with them. The TS layer reports the same condition with a friendlier message first.
void check_targets(const Args& a, size_t i, const int32_t* t, int64_t N, int64_t C, int64_t ignore) {
  for (int64_t r = 0; r < N; ++r) {
    if (t[r] == ignore) continue;
    if (t[r] < 0 || t[r] >= C)
      a.fail(i, "holds class " + std::to_string(t[r]) + " at index " + std::to_string(r) + ", outside [0, " +
                    std::to_string(C) + ")");
  }
}

// crossEntropyForward(logits, N, C, target, smoothing, ignoreIndex, out[, rowLoss]) -> number
// of rows whose target is not ignoreIndex.
Napi::Value CrossEntropyForward(const Args& a) {
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  const int32_t* t = targets(a, 3, N);
  const double eps = a.num(4);
  const int64_t ignore = a.int64(5);
  float* out = a.f32(6, 1);
  float* row_loss = a.present(7) ? a.f32(7, N) : nullptr;
  check_targets(a, 3, t, N, C, ignore);
  const int64_t valid = cross_entropy_forward(x, N, C, t, eps, ignore, out, row_loss);
  return Napi::Number::New(a.env(), static_cast<double>(valid));
}

// crossEntropyBackward(logits, N, C, target, smoothing, ignoreIndex, scale, gx[, rowScale])
void CrossEntropyBackward(const Args& a) {
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  const int32_t* t = targets(a, 3, N);
  const float eps = static_cast<float>(a.num(4));
  const int64_t ignore = a.int64(5);
  const float scale = static_cast<float>(a.num(6));
  float* gx = a.f32(7, N * C);
  const float* row_scale = a.present(8) ? a.f32(8, N) : nullptr;
  check_targets(a, 3, t, N, C, ignore);
  cross_entropy_backward(x, N, C, t, eps, ignore, scale, gx, row_scale);
}

// nllLossForward(logp, N, C, target, ignoreIndex, out) -> number of valid rows.
Napi::Value NllLossForward(const Args& a) {
  const int64_t N = a.int64(1), C = a.int64(2);
  const float* x = a.f32(0, N * C);
  const int32_t* t = targets(a, 3, N);
  const int64_t ignore = a.int64(4);
  float* out = a.f32(5, 1);
  check_targets(a, 3, t, N, C, ignore);
  const int64_t valid = nll_loss_forward(x, N, C, t, ignore, out);
  return Napi::Number::New(a.env(), static_cast<double>(valid));
}

// The elementwise losses: forward(a, b, n, out) and backward(a, b, n, scale, ga).
template <void (*F)(const float*, const float*, int64_t, float*)>
void PairLossForward(const Args& a) {
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  float* out = a.f32(3, 1);
  F(x, y, n, out);
}

template <void (*F)(const float*, const float*, int64_t, float, float*)>
void PairLossBackward(const Args& a) {
  const int64_t n = a.int64(2);
  const float* x = a.f32(0, n);
  const float* y = a.f32(1, n);
  const float scale = static_cast<float>(a.num(3));
  float* g = a.f32(4, n);
  F(x, y, n, scale, g);
}

// dropoutMask(seed, p, mask, n)
void DropoutMask(const Args& a) {
  const int64_t seed = a.int64(0);
  const double p = a.num(1);
  if (!(p >= 0.0 && p < 1.0)) a.fail(1, "(p) must be in [0, 1)");
  const int64_t n = a.int64(3);
  float* mask = a.f32(2, n);
  dropout_mask(seed, p, mask, n);
}

}  // namespace

void register_loss(Napi::Env env, Napi::Object exports) {
  def<SoftmaxForward>(env, exports, "softmaxForward");
  def<SoftmaxBackward>(env, exports, "softmaxBackward");
  def<CrossEntropyForward>(env, exports, "crossEntropyForward");
  def<CrossEntropyBackward>(env, exports, "crossEntropyBackward");
  def<NllLossForward>(env, exports, "nllLossForward");
  def<PairLossForward<mse_loss_forward>>(env, exports, "mseLossForward");
  def<PairLossBackward<mse_loss_backward>>(env, exports, "mseLossBackward");
  def<PairLossForward<bce_with_logits_forward>>(env, exports, "bceWithLogitsForward");
  def<PairLossBackward<bce_with_logits_backward>>(env, exports, "bceWithLogitsBackward");
  def<DropoutMask>(env, exports, "dropoutMask");
}

}  // namespace nl
