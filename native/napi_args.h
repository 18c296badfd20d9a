// Argument unpacking at the N-API boundary. Kernels receive raw pointers and sizes only;
// every check that protects memory (typed-array kinds, lengths) happens here and throws a
// JS error naming the native function and the argument. Shape semantics are checked in TS.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nl {

template <typename T>
struct Span {
  T* data;
  size_t size;
};

class Args {
 public:
  Args(const Napi::CallbackInfo& info, const char* fn) : info_(info), fn_(fn) {}

  [[noreturn]] void fail(size_t i, const std::string& what) const {
    throw Napi::TypeError::New(info_.Env(), std::string(fn_) + ": argument " + std::to_string(i) + " " + what);
  }

  Span<float> f32(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      fail(i, "must be a Float32Array");
    auto a = v.As<Napi::Float32Array>();
    return {a.Data(), a.ElementLength()};
  }
  // A Float32Array of at least `need` elements.
  float* f32(size_t i, size_t need) const {
    Span<float> s = f32(i);
    if (s.size < need)
      fail(i, "must hold at least " + std::to_string(need) + " floats, got " + std::to_string(s.size));
    return s.data;
  }
  Span<int32_t> i32(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array)
      fail(i, "must be an Int32Array");
    auto a = v.As<Napi::Int32Array>();
    return {a.Data(), a.ElementLength()};
  }
  Span<uint8_t> u8(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array)
      fail(i, "must be a Uint8Array");
    auto a = v.As<Napi::Uint8Array>();
    return {a.Data(), a.ElementLength()};
  }
  double num(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsNumber()) fail(i, "must be a number");
    return v.As<Napi::Number>().DoubleValue();
  }
  int64_t int64(size_t i) const {
    double d = num(i);
    if (d != static_cast<double>(static_cast<int64_t>(d))) fail(i, "must be an integer");
    return static_cast<int64_t>(d);
  }
  bool flag(size_t i) const {
    Napi::Value v = at(i);
    if (!v.IsBoolean()) fail(i, "must be a boolean");
    return v.As<Napi::Boolean>().Value();
  }
  // A shape or list of integers, given as a JS array of numbers or an Int32Array.
  std::vector<int64_t> ints(size_t i) const {
    Napi::Value v = at(i);
    std::vector<int64_t> out;
    if (v.IsTypedArray() && v.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
      auto a = v.As<Napi::Int32Array>();
      out.assign(a.Data(), a.Data() + a.ElementLength());
      return out;
    }
    if (!v.IsArray()) fail(i, "must be an array of integers");
    auto arr = v.As<Napi::Array>();
    out.reserve(arr.Length());
    for (uint32_t k = 0; k < arr.Length(); ++k) {
      Napi::Value e = arr.Get(k);
      if (!e.IsNumber()) fail(i, "must be an array of integers");
      out.push_back(e.As<Napi::Number>().Int64Value());
    }
    return out;
  }
  size_t count() const { return info_.Length(); }
  Napi::Env env() const { return info_.Env(); }

 private:
  Napi::Value at(size_t i) const {
    if (i >= info_.Length()) fail(i, "is missing");
    return info_[i];
  }
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

inline int64_t numel(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

// Registers a function under `name` on `exports`.
inline void def(Napi::Env env, Napi::Object exports, const char* name, Napi::Function::Callback cb) {
  exports.Set(name, Napi::Function::New(env, cb, name));
}

}  // namespace nl
