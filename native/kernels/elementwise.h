// Elementwise kernels: binary ops with NumPy broadcasting, unary ops and their gradients.
// Plain functions over float pointers and shapes; the N-API bindings
// (native/bindings/elementwise.cc) check op codes and lengths before calling.
#pragma once
#include <cstdint>
#include <vector>

namespace nl {

// Op codes, shared with src/backend/kernels/elementwise.ts.
enum BinaryOp { kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMax = 5, kMin = 6 };
enum UnaryOp {
  kNeg = 0, kExp = 1, kLog = 2, kSqrt = 3, kAbs = 4, kRelu = 5, kSigmoid = 6, kTanh = 7, kGelu = 8,
  kLeakyRelu = 9, kClamp = 10, kPowScalar = 11, kAddScalar = 12, kMulScalar = 13, kRsubScalar = 14,
  kRdivScalar = 15, kSquare = 16, kSign = 17, kRsqrt = 18
};

// O (shape oshape) = A op B, A and B broadcast to oshape (shapes aligned from the right).
void binary(int op, const float* A, const std::vector<int64_t>& ashape, const float* B, const std::vector<int64_t>& bshape,
            float* O, const std::vector<int64_t>& oshape);
// y = f(x) over n values; p0, p1: the op's scalars (slope, bounds, exponent, operand).
void unary(int op, const float* x, float* y, int64_t n, float p0, float p1);
// Gradient of a unary op: gx = gy * f'(x), written with the saved input x and output y.
void unary_backward(int op, const float* x, const float* y, const float* gy, float* gx, int64_t n, float p0, float p1);

}  // namespace nl
