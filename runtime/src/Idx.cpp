//===- Idx.cpp - the IDX format of MNIST and Fashion-MNIST -------------===//

#include "d2lrt/Idx.h"

#ifdef D2LRT_HAVE_ZLIB
#include <zlib.h>
#endif

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

namespace d2lrt {

namespace {
/// A gzipped or plain file (zlib reads both); without zlib, plain files.
class ByteFile {
public:
  explicit ByteFile(const std::string &path) {
#ifdef D2LRT_HAVE_ZLIB
    f = gzopen(path.c_str(), "rb");
#else
    f = std::fopen(path.c_str(), "rb");
    if (f) {
      unsigned char m[2] = {0, 0};
      gzipped = std::fread(m, 1, 2, f) == 2 && m[0] == 0x1f && m[1] == 0x8b;
      std::rewind(f);
    }
#endif
  }
  ~ByteFile() {
#ifdef D2LRT_HAVE_ZLIB
    if (f)
      gzclose(f);
#else
    if (f)
      std::fclose(f);
#endif
  }
  bool isOpen() const { return f != nullptr; }
  bool isGzippedWithoutZlib() const { return gzipped; }
  /// Reads up to n bytes; returns how many were read.
  size_t read(uint8_t *out, size_t n) {
    size_t done = 0;
    while (done < n) {
#ifdef D2LRT_HAVE_ZLIB
      unsigned chunk = unsigned(std::min<size_t>(n - done, 1u << 30));
      int got = gzread(f, out + done, chunk);
      if (got <= 0)
        break;
      done += size_t(got);
#else
      size_t got = std::fread(out + done, 1, n - done, f);
      if (got == 0)
        break;
      done += got;
#endif
    }
    return done;
  }
  /// A decompression error, or "".
  std::string error() {
#ifdef D2LRT_HAVE_ZLIB
    int errnum = 0;
    const char *msg = gzerror(f, &errnum);
    if (errnum < 0)
      return std::string("gzip error: ") + msg;
#else
    if (std::ferror(f))
      return "read error";
#endif
    return "";
  }

private:
#ifdef D2LRT_HAVE_ZLIB
  gzFile f = nullptr;
#else
  std::FILE *f = nullptr;
#endif
  bool gzipped = false;
};
} // namespace

std::string readIdx(const std::string &path, IdxArray &out) {
  out = IdxArray();
  ByteFile f(path);
  if (!f.isOpen())
    return path + ": cannot open: " + std::strerror(errno);
  if (f.isGzippedWithoutZlib())
    return path + ": this runtime was built without zlib, which reading "
                  "gzipped IDX files needs; gunzip it or install zlib1g-dev "
                  "and rebuild";
  auto fail = [&](const std::string &msg) {
    return path + ": not a valid IDX file of bytes: " + msg;
  };
  uint8_t magic[4];
  if (f.read(magic, 4) != 4)
    return fail("shorter than its 4-byte magic number");
  if (magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08 || magic[3] < 1 ||
      magic[3] > 4) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "magic 0x%02x%02x%02x%02x", magic[0],
                  magic[1], magic[2], magic[3]);
    return fail(std::string(buf) +
                " (expected 0x000008NN: unsigned bytes, 1 to 4 dimensions)");
  }
  uint64_t count = 1;
  for (int i = 0; i < magic[3]; ++i) {
    uint8_t b[4];
    if (f.read(b, 4) != 4)
      return fail("truncated in its dimension sizes");
    int64_t d = (int64_t(b[0]) << 24) | (b[1] << 16) | (b[2] << 8) | b[3];
    if (d < 1 || d > (1 << 28))
      return fail("dimension " + std::to_string(i) + " has size " +
                  std::to_string(d));
    out.dims.push_back(d);
    count *= uint64_t(d);
  }
  if (count > (uint64_t(1) << 34))
    return fail("too large");
  out.data.resize(count);
  size_t got = f.read(out.data.data(), count);
  if (got != count)
    return fail("truncated: " + std::to_string(count) +
                " data bytes expected, " + std::to_string(got) + " found");
  uint8_t extra;
  if (f.read(&extra, 1) != 0)
    return fail("trailing bytes after " + std::to_string(count) +
                " data bytes");
  std::string e = f.error();
  if (!e.empty())
    return path + ": " + e;
  return "";
}

const char *fashionMnistLabel(int64_t label) {
  static const char *kNames[] = {"t-shirt", "trouser",   "pullover", "dress",
                                 "coat",    "sandal",    "shirt",    "sneaker",
                                 "bag",     "ankle boot"};
  return label >= 0 && label < 10 ? kNames[label] : "?";
}

std::string loadFashionMnist(const std::string &dir, bool train,
                             IdxArray &images, IdxArray &labels) {
  std::string prefix = dir + (train ? "/train" : "/t10k");
  // The package's gzipped files, or the same files gunzipped.
  auto file = [&](const std::string &base) {
    std::string gz = prefix + base + ".gz";
    return std::ifstream(gz).good() || !std::ifstream(prefix + base).good()
               ? gz
               : prefix + base;
  };
  std::string imagesPath = file("-images-idx3-ubyte");
  std::string labelsPath = file("-labels-idx1-ubyte");
  std::string err = readIdx(imagesPath, images);
  if (err.empty())
    err = readIdx(labelsPath, labels);
  if (!err.empty())
    return err + (dir == kFashionMnistDir &&
                          err.find("cannot open") != std::string::npos
                      ? " (install Debian's dataset-fashion-mnist package)"
                      : "");
  if (images.dims.size() != 3 || images.dims[1] != 28 || images.dims[2] != 28)
    return imagesPath + ": expected [N, 28, 28] images";
  if (labels.dims.size() != 1 || labels.dims[0] != images.dims[0])
    return labelsPath + ": expected " + std::to_string(images.dims[0]) +
           " labels";
  for (size_t i = 0; i < labels.data.size(); ++i)
    if (labels.data[i] >= 10)
      return labelsPath + ": label " + std::to_string(labels.data[i]) + " at " +
             std::to_string(i) + " is not in [0, 10)";
  return "";
}

} // namespace d2lrt

void d2lrt::resizeBilinear(const float *in, int64_t from, float *out,
                           int64_t to) {
  double scale = double(from) / double(to);
  for (int64_t y = 0; y < to; ++y) {
    double sy = std::max(0.0, (y + 0.5) * scale - 0.5);
    int64_t y0 = std::min<int64_t>(int64_t(sy), from - 1);
    int64_t y1 = std::min<int64_t>(y0 + 1, from - 1);
    double fy = sy - double(y0);
    for (int64_t x = 0; x < to; ++x) {
      double sx = std::max(0.0, (x + 0.5) * scale - 0.5);
      int64_t x0 = std::min<int64_t>(int64_t(sx), from - 1);
      int64_t x1 = std::min<int64_t>(x0 + 1, from - 1);
      double fx = sx - double(x0);
      double top = in[y0 * from + x0] * (1 - fx) + in[y0 * from + x1] * fx;
      double bottom = in[y1 * from + x0] * (1 - fx) + in[y1 * from + x1] * fx;
      out[y * to + x] = float(top * (1 - fy) + bottom * fy);
    }
  }
}
