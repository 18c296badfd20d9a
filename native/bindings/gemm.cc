// N-API binding of SGEMM (native/kernels/gemm.h): sizes, strides and array lengths checked here.
#include "../kernels/gemm.h"
#include "args.h"

namespace nl {
namespace {

// sgemm(transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
void Sgemm(const Args& a) {
  bool ta = a.flag(0), tb = a.flag(1);
  int64_t M = a.int64(2), N = a.int64(3), K = a.int64(4);
  float alpha = static_cast<float>(a.num(5));
  int64_t lda = a.int64(7), ldb = a.int64(9), ldc = a.int64(12);
  const float* A = a.f32(6, M * K == 0 ? 0 : static_cast<size_t>((ta ? K - 1 : M - 1) * lda + (ta ? M : K)));
  const float* B = a.f32(8, K * N == 0 ? 0 : static_cast<size_t>((tb ? N - 1 : K - 1) * ldb + (tb ? K : N)));
  float beta = static_cast<float>(a.num(10));
  float* C = a.f32(11, M * N == 0 ? 0 : static_cast<size_t>((M - 1) * ldc + N));
  sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) { def<Sgemm>(env, exports, "sgemm"); }

}  // namespace nl
