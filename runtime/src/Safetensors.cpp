//===- Safetensors.cpp - read and write .safetensors files
//-----------------===//

#include "d2lrt/Safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <unistd.h>

namespace d2lrt {

namespace {
struct DTypeInfo {
  DType dtype;
  const char *name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F16, "F16", 2},  {DType::BF16, "BF16", 2}, {DType::F32, "F32", 4},
    {DType::F64, "F64", 8},  {DType::I8, "I8", 1},     {DType::I16, "I16", 2},
    {DType::I32, "I32", 4},  {DType::I64, "I64", 8},   {DType::U8, "U8", 1},
    {DType::BOOL, "BOOL", 1}};

/// The largest header we accept (the reference implementation's limit).
constexpr uint64_t kMaxHeader = 100u << 20;
} // namespace

const char *dtypeName(DType dtype) {
  for (const auto &d : kDTypes)
    if (d.dtype == dtype)
      return d.name;
  return "?";
}

size_t dtypeSize(DType dtype) {
  for (const auto &d : kDTypes)
    if (d.dtype == dtype)
      return d.size;
  return 0;
}

int64_t HostTensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

HostTensor HostTensor::zeros(DType dtype, std::vector<int64_t> shape) {
  HostTensor t;
  t.dtype = dtype;
  t.shape = std::move(shape);
  t.bytes.assign(size_t(t.numel()) * dtypeSize(dtype), 0);
  return t;
}

const HostTensor *TensorFile::find(const std::string &name) const {
  for (const auto &[n, t] : tensors)
    if (n == name)
      return &t;
  return nullptr;
}

HostTensor *TensorFile::find(const std::string &name) {
  for (auto &[n, t] : tensors)
    if (n == name)
      return &t;
  return nullptr;
}

void TensorFile::set(const std::string &name, HostTensor tensor) {
  if (HostTensor *t = find(name))
    *t = std::move(tensor);
  else
    tensors.emplace_back(name, std::move(tensor));
}

namespace {
std::string parseImage(const std::vector<uint8_t> &image,
                       const std::string &what, TensorFile &out) {
  out = TensorFile();
  auto bad = [&](const std::string &msg) {
    return what + ": not a valid safetensors file: " + msg;
  };
  if (image.size() < 8)
    return bad("it has " + std::to_string(image.size()) +
               " bytes, fewer than the 8-byte header length");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | image[i];
  if (headerLen > kMaxHeader || headerLen > image.size() - 8)
    return bad("the header length " + std::to_string(headerLen) +
               " exceeds the file (" + std::to_string(image.size()) +
               " bytes); the file may be truncated");
  std::string header(reinterpret_cast<const char *>(image.data()) + 8,
                     headerLen);
  // ordered_json keeps the tensors in the order of the file's header.
  nlohmann::ordered_json j =
      nlohmann::ordered_json::parse(header, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad("the header is not a JSON object");
  size_t dataStart = 8 + headerLen;
  uint64_t dataSize = image.size() - dataStart;

  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string &name = it.key();
    const nlohmann::ordered_json &e = it.value();
    if (name == "__metadata__") {
      if (!e.is_object())
        return bad("__metadata__ is not an object");
      for (auto m = e.begin(); m != e.end(); ++m) {
        if (!m.value().is_string())
          return bad("__metadata__ value '" + m.key() + "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    if (!e.is_object() || !e.contains("dtype") || !e.contains("shape") ||
        !e.contains("data_offsets") || !e["dtype"].is_string() ||
        !e["shape"].is_array() || !e["data_offsets"].is_array() ||
        e["data_offsets"].size() != 2)
      return bad("tensor '" + name +
                 "' lacks dtype, shape or data_offsets [begin, end]");
    HostTensor t;
    std::string dtype = e["dtype"].get<std::string>();
    auto info =
        std::find_if(std::begin(kDTypes), std::end(kDTypes),
                     [&](const DTypeInfo &d) { return dtype == d.name; });
    if (info == std::end(kDTypes))
      return bad("tensor '" + name + "' has unsupported dtype '" + dtype + "'");
    t.dtype = info->dtype;
    uint64_t numel = 1;
    for (const auto &d : e["shape"]) {
      if (!d.is_number_unsigned() || d.get<uint64_t>() > (uint64_t(1) << 40))
        return bad("tensor '" + name + "' has an invalid shape " +
                   e["shape"].dump());
      t.shape.push_back(d.get<int64_t>());
      numel *= d.get<uint64_t>();
      if (numel > (uint64_t(1) << 40))
        return bad("tensor '" + name + "' is too large");
    }
    const auto &off = e["data_offsets"];
    if (!off[0].is_number_unsigned() || !off[1].is_number_unsigned())
      return bad("tensor '" + name + "' has invalid data_offsets");
    uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    if (begin > end || end > dataSize)
      return bad("tensor '" + name + "' has data_offsets [" +
                 std::to_string(begin) + ", " + std::to_string(end) +
                 "] outside the " + std::to_string(dataSize) +
                 " data bytes; the file may be truncated");
    if (end - begin != numel * info->size)
      return bad("tensor '" + name + "' has " + std::to_string(end - begin) +
                 " data bytes but its dtype and shape need " +
                 std::to_string(numel * info->size));
    t.bytes.assign(image.begin() + dataStart + begin,
                   image.begin() + dataStart + end);
    ranges.emplace_back(begin, end);
    out.tensors.emplace_back(name, std::move(t));
  }
  // The data must be covered exactly once (no overlaps, no holes).
  std::sort(ranges.begin(), ranges.end());
  uint64_t pos = 0;
  for (auto [b, e] : ranges) {
    if (b != pos)
      return bad(b < pos ? "two tensors overlap in the data section"
                         : "the data section has a hole at byte " +
                               std::to_string(pos));
    pos = e;
  }
  if (pos != dataSize)
    return bad("the data section has " + std::to_string(dataSize - pos) +
               " trailing bytes");
  return "";
}

} // namespace

std::string parseSafetensors(const std::vector<uint8_t> &image,
                             const std::string &what, TensorFile &out) {
  try {
    return parseImage(image, what, out);
  } catch (const std::exception &e) {
    return what + ": not a valid safetensors file: " + e.what();
  }
}

std::string readSafetensors(const std::string &path, TensorFile &out) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return path + ": cannot open: " + std::strerror(errno);
  std::vector<uint8_t> image((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  if (in.bad())
    return path + ": read error";
  return parseSafetensors(image, path, out);
}

std::string writeFileAtomically(const std::string &path,
                                const std::vector<uint8_t> &bytes) {
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return path + ": cannot create " + tmp + ": " + std::strerror(errno);
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return path + ": write failed: " + err;
    }
    done += size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return path + ": write failed: " + err;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return path + ": cannot rename the temporary file into place: " + err;
  }
  return "";
}

std::string writeSafetensors(const std::string &path, const TensorFile &in) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!in.metadata.empty())
    header["__metadata__"] = in.metadata;
  uint64_t offset = 0;
  for (const auto &[name, t] : in.tensors) {
    if (t.bytes.size() != size_t(t.numel()) * dtypeSize(t.dtype))
      return path + ": tensor '" + name + "' has " +
             std::to_string(t.bytes.size()) + " bytes, its shape needs " +
             std::to_string(t.numel() * dtypeSize(t.dtype));
    header[name] = {{"dtype", dtypeName(t.dtype)},
                    {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string text = header.dump();
  // Pad the header with spaces to 8-byte alignment, as the reference writer.
  while ((text.size() % 8) != 0)
    text.push_back(' ');
  std::vector<uint8_t> image(8);
  uint64_t len = text.size();
  for (int i = 0; i < 8; ++i)
    image[i] = uint8_t(len >> (8 * i));
  image.insert(image.end(), text.begin(), text.end());
  for (const auto &[name, t] : in.tensors)
    image.insert(image.end(), t.bytes.begin(), t.bytes.end());
  return writeFileAtomically(path, image);
}

} // namespace d2lrt
