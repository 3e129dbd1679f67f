//===- Safetensors.h - read and write .safetensors files -------*- C++ -*-===//
//
// The safetensors format (https://github.com/huggingface/safetensors): an
// 8-byte little-endian header length, a JSON header mapping each tensor name
// to {dtype, shape, data_offsets}, then the raw little-endian data. Tensors
// and checkpoints move between PyTorch and d2lc in this format, keyed by
// state_dict names.
//
// The functions return an empty string on success and otherwise a message
// that names the file and the problem; they never throw, so compiler tools
// built without exceptions can call them.
//
//===----------------------------------------------------------------------===//

#ifndef D2LRT_SAFETENSORS_H
#define D2LRT_SAFETENSORS_H

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace d2lrt {

enum class DType { F16, BF16, F32, F64, I8, I16, I32, I64, U8, BOOL };

/// "F32", "I64", ... as spelled in safetensors headers.
const char *dtypeName(DType dtype);
/// Bytes per element.
size_t dtypeSize(DType dtype);

/// One tensor: its element type, shape and raw little-endian bytes.
struct HostTensor {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;

  int64_t numel() const;
  template <typename T> T *data() {
    return reinterpret_cast<T *>(bytes.data());
  }
  template <typename T> const T *data() const {
    return reinterpret_cast<const T *>(bytes.data());
  }
  /// A tensor of `shape` with zeroed storage.
  static HostTensor zeros(DType dtype, std::vector<int64_t> shape);
};

/// The contents of a .safetensors file, in the order of the file's header.
struct TensorFile {
  std::vector<std::pair<std::string, HostTensor>> tensors;
  std::map<std::string, std::string> metadata;

  const HostTensor *find(const std::string &name) const;
  HostTensor *find(const std::string &name);
  /// Adds or replaces a tensor.
  void set(const std::string &name, HostTensor tensor);
};

/// Reads and validates a file (header bounds, dtypes, shapes, offsets that
/// cover the data exactly once).
std::string readSafetensors(const std::string &path, TensorFile &out);

/// Parses a file image already in memory; `what` names it in errors.
std::string parseSafetensors(const std::vector<uint8_t> &image,
                             const std::string &what, TensorFile &out);

/// Writes a file atomically: to a temporary file beside it, then renamed.
std::string writeSafetensors(const std::string &path, const TensorFile &in);

/// Writes `bytes` to `path` atomically (temporary file, fsync, rename).
std::string writeFileAtomically(const std::string &path,
                                const std::vector<uint8_t> &bytes);

} // namespace d2lrt

#endif // D2LRT_SAFETENSORS_H
