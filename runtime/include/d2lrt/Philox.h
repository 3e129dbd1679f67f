//===- Philox.h - counter-based random numbers (Philox4x32-10) --*- C++ -*-===//
//
// Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11). The
// same function is printed into every generated kernel file, so dropout masks
// and initial weights are identical on every backend. Header-only, no
// dependencies; shared by the reference evaluator and the runtime.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_PHILOX_H
#define D2LRT_PHILOX_H

#include <cstdint>

namespace d2lrt {

struct Philox4x32 {
  uint32_t v[4];
};

/// Philox4x32 with 10 rounds: four 32-bit words from a 128-bit counter and a
/// 64-bit key.
inline Philox4x32 philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3,
                             uint32_t k0, uint32_t k1) {
  const uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  const uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += kW0;
      k1 += kW1;
    }
    uint64_t p0 = uint64_t(kM0) * c0;
    uint64_t p1 = uint64_t(kM1) * c2;
    uint32_t hi0 = uint32_t(p0 >> 32), lo0 = uint32_t(p0);
    uint32_t hi1 = uint32_t(p1 >> 32), lo1 = uint32_t(p1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0;
    c1 = n1;
    c2 = n2;
    c3 = n3;
  }
  return {{c0, c1, c2, c3}};
}

/// The uniform number in [0, 1) that dropout compares with p: the top 24 bits
/// of the first word of element `index`'s draw, so that float and double
/// backends agree exactly.
inline double dropoutUniform(uint64_t seed, uint64_t index, uint64_t salt) {
  Philox4x32 r =
      philox4x32(uint32_t(index), uint32_t(index >> 32), uint32_t(salt), 0u,
                 uint32_t(seed), uint32_t(seed >> 32));
  return double(r.v[0] >> 8) * (1.0 / 16777216.0);
}

} // namespace d2lrt

#endif // D2LRT_PHILOX_H
