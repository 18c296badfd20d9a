// N-API entry point: registers the bindings of every kernel family (native/bindings/*.cc) and
// the runtime controls (threads, instruction set, allocator settings).
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>

#include "../kernels/common.h"
#include "args.h"

namespace nl {
void register_gemm(Napi::Env env, Napi::Object exports);
void register_elementwise(Napi::Env env, Napi::Object exports);
void register_reduce(Napi::Env env, Napi::Object exports);
void register_optim(Napi::Env env, Napi::Object exports);
void register_loss(Napi::Env env, Napi::Object exports);
void register_conv(Napi::Env env, Napi::Object exports);
void register_pool(Napi::Env env, Napi::Object exports);
void register_norm(Napi::Env env, Napi::Object exports);
void register_channel_norm(Napi::Env env, Napi::Object exports);
void register_local_response_norm(Napi::Env env, Napi::Object exports);
}  // namespace nl

namespace {

Napi::Value GetNumThreads(const nl::Args& a) { return Napi::Number::New(a.env(), nl::num_threads()); }

void SetNumThreads(const nl::Args& a) {
  int64_t n = a.int64(0);
  if (n < 1 || n > 1024) a.fail(0, "must be an integer in [1, 1024], got " + std::to_string(n));
  nl::set_num_threads(static_cast<int>(n));
}

Napi::Value GetIsa(const nl::Args& a) { return Napi::String::New(a.env(), nl::isa_name(nl::active_isa())); }

Napi::Value SupportedIsas(const nl::Args& a) {
  Napi::Array out = Napi::Array::New(a.env());
  uint32_t k = 0;
  for (nl::Isa isa : {nl::Isa::Scalar, nl::Isa::Avx2, nl::Isa::Avx512})
    if (nl::isa_supported(isa)) out.Set(k++, Napi::String::New(a.env(), nl::isa_name(isa)));
  return out;
}

void SetIsa(const nl::Args& a) {
  std::string s = a.str(0, "must be 'scalar', 'avx2' or 'avx512'");
  nl::Isa isa;
  if (s == "scalar") isa = nl::Isa::Scalar;
  else if (s == "avx2") isa = nl::Isa::Avx2;
  else if (s == "avx512") isa = nl::Isa::Avx512;
  else throw Napi::TypeError::New(a.env(), "setIsa: expected 'scalar', 'avx2' or 'avx512', got '" + s + "'");
  if (!nl::isa_supported(isa))
    throw Napi::Error::New(a.env(), "setIsa: this CPU does not support '" + s + "'");
  nl::set_isa(isa);
}

// Training allocates many multi-megabyte Float32Arrays per step (activations, gradients). With
// glibc's defaults each one above the mmap threshold is a fresh mapping: zero pages faulted in on
// first touch and unmapped again on free, which cost more than the kernels themselves (60
// allocations of 32 MB: 495k page faults and 1.7 s of system time with glibc's defaults, 44k
// and 0.2 s with the settings below). Serving them from the heap, and keeping up to 1 GiB of freed heap,
// lets later steps reuse warm memory. NORMLAB_SYSTEM_MALLOC=1 keeps glibc's defaults.
void tune_malloc() {
#if defined(__GLIBC__)
  const char* keep = std::getenv("NORMLAB_SYSTEM_MALLOC");
  if (keep != nullptr && keep[0] == '1') return;
  if (mallopt(M_MMAP_THRESHOLD, 1 << 30) == 0) mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  tune_malloc();
  nl::def<GetNumThreads>(env, exports, "getNumThreads");
  nl::def<SetNumThreads>(env, exports, "setNumThreads");
  nl::def<GetIsa>(env, exports, "getIsa");
  nl::def<SetIsa>(env, exports, "setIsa");
  nl::def<SupportedIsas>(env, exports, "supportedIsas");
  nl::register_gemm(env, exports);
  nl::register_elementwise(env, exports);
  nl::register_reduce(env, exports);
  nl::register_optim(env, exports);
  nl::register_loss(env, exports);
  nl::register_conv(env, exports);
  nl::register_pool(env, exports);
  nl::register_norm(env, exports);
  nl::register_channel_norm(env, exports);
  nl::register_local_response_norm(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(normlab, Init)
