// N-API bindings of the reduction engine and permute (native/kernels/reduce.h).
#include <string>

#include "../kernels/reduce.h"
#include "args.h"

namespace nl {
namespace {

// reduce(op, x, shape, dims, out, extra): out holds the kept dims of `shape` in order. extra is
// the Int32Array of arg positions for max/min (position inside the reduced dims, row-major) and
// the `unbiased` flag for var/std.
void Reduce(const Args& a) {
  const int64_t op = a.int64(0);
  if (op < kReduceSum || op > kReduceStd) a.fail(0, "is not a reduction op code (0-5)");
  const std::vector<int64_t> shape = a.ints(2), dims = a.ints(3);
  const float* x = a.f32(1, numel(shape));
  std::vector<bool> reduced(shape.size(), false);
  for (int64_t d : dims) {
    if (d < 0 || d >= static_cast<int64_t>(shape.size()))
      a.fail(3, "holds dim " + std::to_string(d) + ", outside [0, " + std::to_string(shape.size()) + ")");
    reduced[static_cast<size_t>(d)] = true;
  }
  int64_t O = 1, R = 1;
  for (size_t k = 0; k < shape.size(); ++k) (reduced[k] ? R : O) *= shape[k];
  float* out = a.f32(4, O);
  int32_t* idx = nullptr;
  bool unbiased = false;
  if (op == kReduceMax || op == kReduceMin) {
    if (R == 0) a.fail(3, "selects an empty set of elements; max/min need at least one");
    if (a.present(5)) {
      Span<int32_t> s = a.i32(5);
      if (static_cast<int64_t>(s.size) < O) a.fail(5, "is too short for the arg positions");
      idx = s.data;
    }
  } else if (op == kReduceVar || op == kReduceStd) {
    unbiased = a.flag(5);
  }
  reduce_dims(static_cast<int>(op), x, shape, reduced, out, idx, unbiased);
}

// permute(x, shape, perm, out)
void Permute(const Args& a) {
  auto shape = a.ints(1), perm = a.ints(2);
  const int64_t n = numel(shape);
  const float* x = a.f32(0, n);
  float* out = a.f32(3, n);
  if (perm.size() != shape.size()) a.fail(2, "must have one entry per dimension");
  permute(x, shape, perm, out);
}

}  // namespace

void register_reduce(Napi::Env env, Napi::Object exports) {
  def<Reduce>(env, exports, "reduce");
  def<Permute>(env, exports, "permute");
}

}  // namespace nl
