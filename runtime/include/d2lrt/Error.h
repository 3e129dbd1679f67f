//===- Error.h - errors of the d2lrt runtime --------------------*- C++ -*-===//

#ifndef D2LRT_ERROR_H
#define D2LRT_ERROR_H

#include <stdexcept>
#include <string>

namespace d2lrt {

/// Every runtime failure a user can act on: a bad file, a missing tensor, a
/// compile error (with the compiler's log), no GPU.
class Error : public std::runtime_error {
public:
  explicit Error(const std::string &message) : std::runtime_error(message) {}
};

} // namespace d2lrt

#endif // D2LRT_ERROR_H
