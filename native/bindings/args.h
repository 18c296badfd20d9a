// Argument unpacking at the N-API boundary, shared by every binding file (native/bindings/).
// Kernels (native/kernels/) receive raw pointers and sizes only; every check that protects
// memory (typed-array kinds, lengths) happens here and throws a JS error naming the native
// function and the argument. Shape semantics are checked in TS.
#pragma once
#include <napi.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "../kernels/common.h"

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
  // An optional Float32Array of at least `need` elements: a missing, null or undefined argument
  // gives nullptr; with empty_is_absent, so does an empty array.
  float* opt_f32(size_t i, size_t need, bool empty_is_absent = false) const {
    if (!present(i) || info_[i].IsNull()) return nullptr;
    if (empty_is_absent && f32(i).size == 0) return nullptr;
    return f32(i, need);
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
  // A string; `what` completes the error message when it is not one ("must be ...").
  std::string str(size_t i, const std::string& what) const {
    if (i >= info_.Length() || !info_[i].IsString()) fail(i, what);
    return info_[i].As<Napi::String>().Utf8Value();
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
  // Whether argument i is given (not missing and not undefined).
  bool present(size_t i) const { return i < info_.Length() && !info_[i].IsUndefined(); }
  size_t count() const { return info_.Length(); }
  Napi::Value undefined() const { return info_.Env().Undefined(); }
  Napi::Env env() const { return info_.Env(); }

 private:
  Napi::Value at(size_t i) const {
    if (i >= info_.Length()) fail(i, "is missing");
    return info_[i];
  }
  const Napi::CallbackInfo& info_;
  const char* fn_;
};

// A binding: unpacks and checks its arguments through Args, calls a kernel, and returns nothing
// (void) or a JS value.
template <auto F>
Napi::Value call_binding(const Napi::CallbackInfo& info) {
  Args a(info, static_cast<const char*>(info.Data()));
  if constexpr (std::is_void_v<decltype(F(a))>) {
    F(a);
    return info.Env().Undefined();
  } else {
    return F(a);
  }
}

// Registers binding F under `name`; its argument errors name the function `name`.
template <auto F>
void def(Napi::Env env, Napi::Object exports, const char* name) {
  exports.Set(name, Napi::Function::New<call_binding<F>>(env, name, const_cast<char*>(name)));
}

}  // namespace nl
