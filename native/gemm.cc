// SGEMM (interim straightforward version; the packed BLIS-style kernel replaces it).
#include "gemm.h"

#include <vector>

#include "common.h"
#include "napi_args.h"

namespace nl {

void sgemm(bool transA, bool transB, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
           const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  parallel_for(M, 4, [&](int64_t m0, int64_t m1) {
    std::vector<float> row(N);
    for (int64_t i = m0; i < m1; ++i) {
      for (int64_t j = 0; j < N; ++j) row[j] = 0.f;
      for (int64_t k = 0; k < K; ++k) {
        float a = transA ? A[k * lda + i] : A[i * lda + k];
        if (!transB) {
          const float* b = B + k * ldb;
          for (int64_t j = 0; j < N; ++j) row[j] += a * b[j];
        } else {
          for (int64_t j = 0; j < N; ++j) row[j] += a * B[j * ldb + k];
        }
      }
      float* c = C + i * ldc;
      for (int64_t j = 0; j < N; ++j) c[j] = alpha * row[j] + (beta == 0.f ? 0.f : beta * c[j]);
    }
  });
}

namespace {
Napi::Value Sgemm(const Napi::CallbackInfo& info) {
  Args a(info, "sgemm");
  bool ta = a.flag(0), tb = a.flag(1);
  int64_t M = a.int64(2), N = a.int64(3), K = a.int64(4);
  float alpha = static_cast<float>(a.num(5));
  int64_t lda = a.int64(7), ldb = a.int64(9), ldc = a.int64(12);
  const float* A = a.f32(6, M * K == 0 ? 0 : static_cast<size_t>((ta ? K - 1 : M - 1) * lda + (ta ? M : K)));
  const float* B = a.f32(8, K * N == 0 ? 0 : static_cast<size_t>((tb ? N - 1 : K - 1) * ldb + (tb ? K : N)));
  float beta = static_cast<float>(a.num(10));
  float* C = a.f32(11, M * N == 0 ? 0 : static_cast<size_t>((M - 1) * ldc + N));
  sgemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  return info.Env().Undefined();
}
}  // namespace

void register_gemm(Napi::Env env, Napi::Object exports) { def(env, exports, "sgemm", Sgemm); }

}  // namespace nl
