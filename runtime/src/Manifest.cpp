//===- Manifest.cpp - parse and validate the embedded manifest
//-------------===//

#include "d2lrt/Manifest.h"
#include "d2lrt/Error.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <set>

namespace d2lrt {

namespace {
constexpr const char *kBegin = "D2LC-MANIFEST-BEGIN";
constexpr const char *kEnd = "D2LC-MANIFEST-END";

struct KindName {
  BufferKind kind;
  const char *name;
};
constexpr KindName kKinds[] = {{BufferKind::Parameter, "parameter"},
                               {BufferKind::State, "state"},
                               {BufferKind::Constant, "constant"},
                               {BufferKind::Input, "input"},
                               {BufferKind::Output, "output"},
                               {BufferKind::Activation, "activation"},
                               {BufferKind::Saved, "saved"},
                               {BufferKind::Gradient, "gradient"},
                               {BufferKind::Workspace, "workspace"}};

using json = nlohmann::json;

class Parser {
public:
  explicit Parser(std::string what) : what(std::move(what)) {}

  [[noreturn]] void fail(const std::string &msg) const {
    throw Error(fmt::format("{}: invalid manifest: {}", what, msg));
  }

  const json &get(const json &j, const char *key, const std::string &where) {
    if (!j.is_object() || !j.contains(key))
      fail(fmt::format("{} lacks \"{}\"", where, key));
    return j.at(key);
  }
  std::string str(const json &j, const char *key, const std::string &where) {
    const json &v = get(j, key, where);
    if (!v.is_string())
      fail(fmt::format("{}.{} is not a string", where, key));
    return v.get<std::string>();
  }
  int64_t integer(const json &j, const char *key, const std::string &where) {
    const json &v = get(j, key, where);
    if (!v.is_number_integer())
      fail(fmt::format("{}.{} is not an integer", where, key));
    return v.get<int64_t>();
  }
  std::vector<int64_t> ints(const json &j, const char *key,
                            const std::string &where) {
    const json &v = get(j, key, where);
    if (!v.is_array())
      fail(fmt::format("{}.{} is not an array", where, key));
    std::vector<int64_t> out;
    for (const json &e : v) {
      if (!e.is_number_integer())
        fail(fmt::format("{}.{} holds a non-integer", where, key));
      out.push_back(e.get<int64_t>());
    }
    return out;
  }
  BufferKind kind(const json &j, const std::string &where) {
    std::string k = str(j, "kind", where);
    for (const KindName &e : kKinds)
      if (k == e.name)
        return e.kind;
    fail(fmt::format("{} has unknown kind \"{}\"", where, k));
  }
  DType dtype(const json &j, const std::string &where) {
    std::string d = str(j, "dtype", where);
    for (DType t : {DType::F32, DType::F64, DType::I64, DType::I32, DType::F16,
                    DType::BF16})
      if (d == dtypeName(t))
        return t;
    fail(fmt::format("{} has unsupported dtype \"{}\"", where, d));
  }

  Manifest parse(const json &j) {
    Manifest m;
    if (!j.is_object())
      fail("not a JSON object");
    if (!j.contains("format") || j["format"] != "d2lc-manifest")
      fail("\"format\" is not \"d2lc-manifest\"");
    m.version = int(integer(j, "version", "manifest"));
    if (m.version > kManifestVersion)
      fail(fmt::format("version {} is newer than this runtime reads ({}); "
                       "rebuild the runtime or recompile the model with a "
                       "matching d2lc",
                       m.version, kManifestVersion));
    if (m.version < 1)
      fail(fmt::format("version {} is not a manifest version", m.version));
    m.model = str(j, "model", "manifest");
    m.arch = str(j, "arch", "manifest");
    m.generator = j.value("generator", "");
    for (const json &k : get(j, "kernels", "manifest")) {
      if (!k.is_string())
        fail("kernels holds a non-string");
      m.kernels.push_back(k.get<std::string>());
    }
    for (const json &t : get(j, "tensors", "manifest")) {
      TensorSpec s;
      s.name = str(t, "name", "tensor");
      std::string where = "tensor '" + s.name + "'";
      s.kind = kind(t, where);
      if (s.kind != BufferKind::Parameter && s.kind != BufferKind::State)
        fail(where + " is neither a parameter nor a state");
      s.dtype = dtype(t, where);
      s.shape = ints(t, "shape", where);
      s.init = t.value("init", "");
      m.tensors.push_back(std::move(s));
    }
    for (const json &c : get(j, "constants", "manifest")) {
      ConstantSpec s;
      std::string where = fmt::format("constant {}", m.constants.size());
      s.dtype = dtype(c, where);
      s.shape = ints(c, "shape", where);
      const json &v = get(c, "values", where);
      if (!v.is_array())
        fail(where + ".values is not an array");
      for (const json &e : v) {
        if (!e.is_number())
          fail(where + ".values holds a non-number");
        s.values.push_back(e.get<double>());
      }
      int64_t n = 1;
      for (int64_t d : s.shape)
        n *= d;
      s.splat = s.values.size() == 1;
      if (!s.splat && int64_t(s.values.size()) != n)
        fail(fmt::format("{} has {} values for {} elements", where,
                         s.values.size(), n));
      m.constants.push_back(std::move(s));
    }
    for (const json &e : get(j, "entries", "manifest"))
      m.entries.push_back(parseEntry(e, m));
    return m;
  }

  EntrySpec parseEntry(const json &e, const Manifest &m) {
    EntrySpec s;
    s.name = str(e, "name", "entry");
    std::string where = "entry '" + s.name + "'";
    for (const json &b : get(e, "buffers", where)) {
      BufferSpec buf;
      buf.id = int(integer(b, "id", where + " buffer"));
      std::string bw = fmt::format("{} buffer {}", where, buf.id);
      if (buf.id != int(s.buffers.size()))
        fail(bw + " is out of order");
      buf.kind = kind(b, bw);
      buf.dtype = dtype(b, bw);
      buf.shape = ints(b, "shape", bw);
      buf.bytes = uint64_t(integer(b, "bytes", bw));
      buf.first = int(integer(b, "first", bw));
      buf.last = int(integer(b, "last", bw));
      buf.name = b.value("name", "");
      if (b.contains("offset"))
        buf.offset = integer(b, "offset", bw);
      uint64_t n = 1;
      for (int64_t d : buf.shape) {
        if (d < 0)
          fail(bw + " has a negative dimension");
        n *= uint64_t(d);
      }
      if (buf.bytes != n * dtypeSize(buf.dtype))
        fail(fmt::format("{} has {} bytes but its shape needs {}", bw,
                         buf.bytes, n * dtypeSize(buf.dtype)));
      if (buf.kind == BufferKind::Parameter || buf.kind == BufferKind::State) {
        buf.tensor = str(b, "tensor", bw);
        const TensorSpec *t = m.tensor(buf.tensor);
        if (!t)
          fail(bw + " names unknown tensor '" + buf.tensor + "'");
        if (t->shape != buf.shape || t->dtype != buf.dtype)
          fail(bw + " disagrees with tensor '" + buf.tensor + "'");
      }
      if (buf.kind == BufferKind::Constant) {
        buf.constant = int(integer(b, "constant", bw));
        if (buf.constant < 0 || buf.constant >= int(m.constants.size()))
          fail(bw + " names an unknown constant");
        const ConstantSpec &c = m.constants[buf.constant];
        if (c.shape != buf.shape || c.dtype != buf.dtype)
          fail(bw + " disagrees with its constant");
      }
      s.buffers.push_back(std::move(buf));
    }
    auto checkBuffer = [&](int id, const std::string &w) {
      if (id < 0 || id >= int(s.buffers.size()))
        fail(
            fmt::format("{} refers to buffer {}, which does not exist", w, id));
    };
    for (const json &a : get(e, "arguments", where)) {
      BindingSpec b{str(a, "name", where + " argument"),
                    kind(a, where + " argument"),
                    int(integer(a, "buffer", where + " argument"))};
      checkBuffer(b.buffer, where + " argument '" + b.name + "'");
      s.arguments.push_back(b);
    }
    for (const json &r : get(e, "results", where)) {
      BindingSpec b{str(r, "name", where + " result"),
                    kind(r, where + " result"),
                    int(integer(r, "buffer", where + " result"))};
      checkBuffer(b.buffer, where + " result '" + b.name + "'");
      if ((b.kind == BufferKind::Parameter || b.kind == BufferKind::State) &&
          !m.tensor(b.name))
        fail(where + " result '" + b.name + "' updates an unknown tensor");
      s.results.push_back(b);
    }
    for (const json &l : get(e, "launches", where)) {
      LaunchSpec spec;
      std::string lw = fmt::format("{} launch {}", where, s.launches.size());
      spec.kernel = int(integer(l, "kernel", lw));
      if (spec.kernel < 0 || spec.kernel >= int(m.kernels.size()))
        fail(lw + " names an unknown kernel");
      auto grid = ints(l, "grid", lw), block = ints(l, "block", lw);
      if (grid.size() != 3 || block.size() != 3)
        fail(lw + " needs 3-d grid and block");
      for (int i = 0; i < 3; ++i) {
        if (grid[i] < 1 || block[i] < 1 || grid[i] > (1ll << 31) ||
            block[i] > 1024)
          fail(lw + " has an invalid grid or block size");
        spec.grid[i] = unsigned(grid[i]);
        spec.block[i] = unsigned(block[i]);
      }
      for (int64_t a : ints(l, "args", lw)) {
        checkBuffer(int(a), lw);
        spec.args.push_back(int(a));
      }
      spec.ops = l.value("ops", "");
      s.launches.push_back(std::move(spec));
    }
    if (e.contains("arena"))
      s.arena = integer(e, "arena", where);
    return s;
  }

private:
  std::string what;
};
} // namespace

const char *bufferKindName(BufferKind kind) {
  for (const KindName &e : kKinds)
    if (e.kind == kind)
      return e.name;
  return "?";
}

bool isArenaKind(BufferKind kind) {
  return kind != BufferKind::Parameter && kind != BufferKind::State &&
         kind != BufferKind::Constant;
}

const EntrySpec *Manifest::entry(const std::string &name) const {
  for (const EntrySpec &e : entries)
    if (e.name == name)
      return &e;
  return nullptr;
}

const TensorSpec *Manifest::tensor(const std::string &name) const {
  for (const TensorSpec &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

Manifest parseManifest(const std::string &source, const std::string &what) {
  Parser parser(what);
  size_t begin = source.find(kBegin);
  if (begin == std::string::npos)
    parser.fail("no D2LC-MANIFEST-BEGIN line: is this a model.cu written by "
                "d2lc?");
  begin = source.find('\n', begin);
  size_t end = source.find(kEnd, begin);
  if (begin == std::string::npos || end == std::string::npos)
    parser.fail("D2LC-MANIFEST-BEGIN without D2LC-MANIFEST-END");
  json j = json::parse(source.begin() + long(begin), source.begin() + long(end),
                       nullptr, false);
  if (j.is_discarded())
    parser.fail("the text between the markers is not valid JSON");
  try {
    return parser.parse(j);
  } catch (const json::exception &e) {
    parser.fail(e.what());
  }
}

} // namespace d2lrt
