// N-API bindings of the elementwise kernels (native/kernels/elementwise.h) and of sum-to-shape,
// which runs on the reduction engine (native/kernels/reduce.h).
#include <string>

#include "../kernels/elementwise.h"
#include "../kernels/reduce.h"
#include "args.h"

namespace nl {
namespace {

// binary(op, a, aShape, b, bShape, out, outShape)
void Binary(const Args& a) {
  int op = static_cast<int>(a.int64(0));
  auto ashape = a.ints(2), bshape = a.ints(4), oshape = a.ints(6);
  const float* A = a.f32(1, numel(ashape));
  const float* B = a.f32(3, numel(bshape));
  float* O = a.f32(5, numel(oshape));
  binary(op, A, ashape, B, bshape, O, oshape);
}

// unary(op, x, y, p0, p1)
void Unary(const Args& a) {
  int op = static_cast<int>(a.int64(0));
  if (op < 0 || op > kRsqrt) a.fail(0, "is not a unary op code");
  Span<float> x = a.f32(1);
  float* y = a.f32(2, x.size);
  float p0 = static_cast<float>(a.num(3)), p1 = static_cast<float>(a.num(4));
  unary(op, x.data, y, static_cast<int64_t>(x.size), p0, p1);
}

// unaryBackward(op, x, y, gy, gx, p0, p1)
void UnaryBackward(const Args& a) {
  int op = static_cast<int>(a.int64(0));
  if (op < 0 || op > kRsqrt) a.fail(0, "is not a unary op code");
  Span<float> x = a.f32(1);
  const float* y = a.f32(2, x.size);
  const float* gy = a.f32(3, x.size);
  float* gx = a.f32(4, x.size);
  float p0 = static_cast<float>(a.num(5)), p1 = static_cast<float>(a.num(6));
  unary_backward(op, x.data, y, gy, gx, static_cast<int64_t>(x.size), p0, p1);
}

// sumToShape(g, from, out, to): out (shape `to`) = sum of g (shape `from`) over the dims that
// `to` broadcasts (aligned from the right, missing leading dims count as 1), through the
// reduction engine: no permute copy, bitwise the same result for any thread count.
void SumToShape(const Args& a) {
  auto from = a.ints(1), to = a.ints(3);
  const float* G = a.f32(0, numel(from));
  float* O = a.f32(2, numel(to));
  const size_t nd = from.size();
  if (to.size() > nd) a.fail(3, "has more dims than the gradient shape (argument 1)");
  std::vector<bool> reduced(nd, false);
  for (size_t k = 0; k < nd; ++k) {
    const int64_t d = k + to.size() >= nd ? to[k + to.size() - nd] : 1;
    if (d == from[k]) continue;
    if (d != 1) a.fail(3, "dim " + std::to_string(k + to.size() - nd) + " (size " + std::to_string(d) +
                              ") is neither 1 nor the gradient's size " + std::to_string(from[k]));
    reduced[k] = true;
  }
  reduce_dims(kReduceSum, G, from, reduced, O, nullptr, false);
}

}  // namespace

void register_elementwise(Napi::Env env, Napi::Object exports) {
  def<Binary>(env, exports, "binary");
  def<Unary>(env, exports, "unary");
  def<UnaryBackward>(env, exports, "unaryBackward");
  def<SumToShape>(env, exports, "sumToShape");
}

}  // namespace nl
