// N-API entry point: registers every kernel family and the runtime controls.
#include <napi.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>

#include "common.h"
#include "napi_args.h"

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
}  // namespace nl

namespace {

Napi::Value GetNumThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), nl::num_threads()); }

Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  nl::Args a(info, "setNumThreads");
  int64_t n = a.int64(0);
  if (n < 1 || n > 1024) a.fail(0, "must be an integer in [1, 1024], got " + std::to_string(n));
  nl::set_num_threads(static_cast<int>(n));
  return info.Env().Undefined();
}

Napi::Value GetIsa(const Napi::CallbackInfo& info) {
  return Napi::String::New(info.Env(), nl::isa_name(nl::active_isa()));
}

Napi::Value SupportedIsas(const Napi::CallbackInfo& info) {
  Napi::Array out = Napi::Array::New(info.Env());
  uint32_t k = 0;
  for (nl::Isa isa : {nl::Isa::Scalar, nl::Isa::Avx2, nl::Isa::Avx512})
    if (nl::isa_supported(isa)) out.Set(k++, Napi::String::New(info.Env(), nl::isa_name(isa)));
  return out;
}

Napi::Value SetIsa(const Napi::CallbackInfo& info) {
  if (info.Length() < 1 || !info[0].IsString())
    throw Napi::TypeError::New(info.Env(), "setIsa: argument 0 must be 'scalar', 'avx2' or 'avx512'");
  std::string s = info[0].As<Napi::String>().Utf8Value();
  nl::Isa isa;
  if (s == "scalar") isa = nl::Isa::Scalar;
  else if (s == "avx2") isa = nl::Isa::Avx2;
  else if (s == "avx512") isa = nl::Isa::Avx512;
  else throw Napi::TypeError::New(info.Env(), "setIsa: expected 'scalar', 'avx2' or 'avx512', got '" + s + "'");
  if (!nl::isa_supported(isa))
    throw Napi::Error::New(info.Env(), "setIsa: this CPU does not support '" + s + "'");
  nl::set_isa(isa);
  return info.Env().Undefined();
}

// Training allocates many multi-megabyte Float32Arrays per step (activations, gradients). With
// glibc's defaults each one above the mmap threshold is a fresh mapping: zero pages faulted in on
// first touch and unmapped again on free, which cost more than the kernels themselves (measured:
// 495k page faults and 1.7 s of system time for 60 allocations of 32 MB, against 44k and 0.2 s
// with the settings below). Serving them from the heap, and keeping up to 1 GiB of freed heap,
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
  nl::def(env, exports, "getNumThreads", GetNumThreads);
  nl::def(env, exports, "setNumThreads", SetNumThreads);
  nl::def(env, exports, "getIsa", GetIsa);
  nl::def(env, exports, "setIsa", SetIsa);
  nl::def(env, exports, "supportedIsas", SupportedIsas);
  nl::register_gemm(env, exports);
  nl::register_elementwise(env, exports);
  nl::register_reduce(env, exports);
  nl::register_optim(env, exports);
  nl::register_loss(env, exports);
  nl::register_conv(env, exports);
  nl::register_pool(env, exports);
  nl::register_norm(env, exports);
  nl::register_channel_norm(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(normlab, Init)
