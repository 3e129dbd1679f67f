//===- Init.h - parameter initialisers -------------------------*- C++ -*-===//
//
// The initialisers a model names with `d2l.init` ("xavier_uniform", "zeros",
// "ones", "normal(0.01)", ...), parsed and applied the same way by the
// compiler's verifier, the reference evaluator and the runtime. Random values
// come from Philox keyed by the seed, with the tensor's name in the counter,
// so a parameter's initial value depends only on (seed, name, shape).
// Header-only, no dependencies beyond the standard library.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_INIT_H
#define D2LRT_INIT_H

#include "d2lrt/Philox.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace d2lrt {

struct InitSpec {
  enum Kind {
    Zeros,
    Ones,
    Constant,      // constant(v)
    Uniform,       // uniform(a, b)
    Normal,        // normal(std) or normal(mean, std); "normal" is std 0.01
    XavierUniform, // torch.nn.init.xavier_uniform_
    XavierNormal,  // torch.nn.init.xavier_normal_
    Bilinear,      // the FCN book's bilinear_kernel upsampling filter
  } kind = Zeros;
  double a = 0, b = 0;
};

/// The accepted spellings, for error messages.
inline const char *initSpecSyntax() {
  return "zeros, ones, constant(V), uniform(A, B), normal, normal(STD), "
         "normal(MEAN, STD), xavier_uniform, xavier_normal, bilinear";
}

namespace detail {
inline bool parseArgs(std::string_view text, std::vector<double> &out) {
  out.clear();
  std::string s(text);
  const char *p = s.c_str();
  while (true) {
    while (*p == ' ')
      ++p;
    char *end = nullptr;
    double v = std::strtod(p, &end);
    if (end == p || !std::isfinite(v))
      return false;
    out.push_back(v);
    p = end;
    while (*p == ' ')
      ++p;
    if (*p == 0)
      return true;
    if (*p != ',')
      return false;
    ++p;
  }
}
} // namespace detail

/// Parses an initialiser; on failure returns false and sets `error`.
inline bool parseInitSpec(std::string_view text, InitSpec &spec,
                          std::string &error) {
  auto fail = [&]() {
    error = "unknown initialiser '" + std::string(text) +
            "' (expected one of " + initSpecSyntax() + ")";
    return false;
  };
  std::string_view name = text, args;
  bool hasArgs = false;
  if (auto open = text.find('('); open != std::string_view::npos) {
    if (text.back() != ')')
      return fail();
    name = text.substr(0, open);
    args = text.substr(open + 1, text.size() - open - 2);
    hasArgs = true;
  }
  std::vector<double> v;
  if (hasArgs && !detail::parseArgs(args, v))
    return fail();
  spec = InitSpec();
  if (name == "zeros" && !hasArgs) {
    spec.kind = InitSpec::Zeros;
  } else if (name == "ones" && !hasArgs) {
    spec.kind = InitSpec::Ones;
  } else if (name == "constant" && v.size() == 1) {
    spec.kind = InitSpec::Constant;
    spec.a = v[0];
  } else if (name == "uniform" && v.size() == 2 && v[0] < v[1]) {
    spec.kind = InitSpec::Uniform;
    spec.a = v[0];
    spec.b = v[1];
  } else if (name == "normal" && !hasArgs) {
    spec.kind = InitSpec::Normal;
    spec.b = 0.01;
  } else if (name == "normal" && v.size() == 1 && v[0] > 0) {
    spec.kind = InitSpec::Normal;
    spec.b = v[0];
  } else if (name == "normal" && v.size() == 2 && v[1] > 0) {
    spec.kind = InitSpec::Normal;
    spec.a = v[0];
    spec.b = v[1];
  } else if (name == "xavier_uniform" && !hasArgs) {
    spec.kind = InitSpec::XavierUniform;
  } else if (name == "xavier_normal" && !hasArgs) {
    spec.kind = InitSpec::XavierNormal;
  } else if (name == "bilinear" && !hasArgs) {
    spec.kind = InitSpec::Bilinear;
  } else {
    return fail();
  }
  return true;
}

/// Checks that `spec` applies to a tensor of `shape`; returns "" or a reason.
inline std::string checkInitShape(const InitSpec &spec,
                                  const std::vector<int64_t> &shape) {
  if ((spec.kind == InitSpec::XavierUniform ||
       spec.kind == InitSpec::XavierNormal) &&
      shape.size() < 2)
    return "xavier initialisation needs a tensor of rank 2 or more (it "
           "computes fan in and fan out), but the tensor has rank " +
           std::to_string(shape.size());
  if (spec.kind == InitSpec::Bilinear &&
      (shape.size() != 4 || shape[2] != shape[3]))
    return "bilinear initialisation needs a [C_in, C_out, K, K] weight";
  return "";
}

namespace detail {
inline uint32_t fnv1a(std::string_view s) {
  uint32_t h = 2166136261u;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}
} // namespace detail

/// Fills `out` (row-major, `shape`) with the initial value of the tensor
/// named `name`. The spec must have passed checkInitShape.
template <typename T>
void fillInit(const InitSpec &spec, const std::vector<int64_t> &shape,
              uint64_t seed, std::string_view name, T *out) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  int64_t receptive = 1;
  for (size_t i = 2; i < shape.size(); ++i)
    receptive *= shape[i];
  double fanIn = shape.size() >= 2 ? double(shape[1] * receptive) : 1;
  double fanOut = shape.size() >= 2 ? double(shape[0] * receptive) : 1;
  uint32_t tag = detail::fnv1a(name);
  auto draw = [&](int64_t i) {
    return philox4x32(uint32_t(i), uint32_t(uint64_t(i) >> 32), tag, 0x1A17u,
                      uint32_t(seed), uint32_t(seed >> 32));
  };
  const double kTwoPi = 6.283185307179586;
  auto uniform01 = [](uint32_t x) { return (double(x) + 0.5) / 4294967296.0; };
  auto normal01 = [&](int64_t i) {
    Philox4x32 r = draw(i);
    return std::sqrt(-2.0 * std::log(uniform01(r.v[0]))) *
           std::cos(kTwoPi * uniform01(r.v[1]));
  };
  for (int64_t i = 0; i < n; ++i) {
    double v = 0;
    switch (spec.kind) {
    case InitSpec::Zeros:
      v = 0;
      break;
    case InitSpec::Ones:
      v = 1;
      break;
    case InitSpec::Constant:
      v = spec.a;
      break;
    case InitSpec::Uniform:
      v = spec.a + (spec.b - spec.a) * uniform01(draw(i).v[0]);
      break;
    case InitSpec::Normal:
      v = spec.a + spec.b * normal01(i);
      break;
    case InitSpec::XavierUniform: {
      double bound = std::sqrt(6.0 / (fanIn + fanOut));
      v = -bound + 2 * bound * uniform01(draw(i).v[0]);
      break;
    }
    case InitSpec::XavierNormal:
      v = std::sqrt(2.0 / (fanIn + fanOut)) * normal01(i);
      break;
    case InitSpec::Bilinear: {
      // bilinear_kernel(in, out, k) of the book: the filter on the diagonal
      // (input channel == output channel), zero elsewhere.
      int64_t k = shape[2];
      int64_t x = i % k, y = (i / k) % k;
      int64_t co = (i / (k * k)) % shape[1], ci = i / (k * k * shape[1]);
      double factor = double((k + 1) / 2);
      double center = k % 2 == 1 ? factor - 1 : factor - 0.5;
      v = ci == co ? (1 - std::fabs(y - center) / factor) *
                         (1 - std::fabs(x - center) / factor)
                   : 0.0;
      break;
    }
    }
    out[i] = T(v);
  }
}

} // namespace d2lrt

#endif // D2LRT_INIT_H
