//===- Emitter.cpp - print a scheduled d2l module as model.cu -------------===//
//
// The file is: a banner, the manifest (a JSON comment the runtime reads), the
// preamble (the D2L_* macros for CUDA; the host backend supplies them
// through d2lrt/cuda_host.h), shared device functions, then every kernel
// once, each with a comment naming the IR ops it came from and a host entry.
//
//===----------------------------------------------------------------------===//

#include "d2l/Target/CUDA/CUDAEmitter.h"

#include "KernelWriter.h"

#include "d2l/Dialect/D2L/IR/D2L.h"
#include "d2l/Dialect/D2L/Transforms/Autodiff.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/JSON.h"

#include <map>

using namespace mlir;
using namespace mlir::d2l;
using namespace mlir::d2l::cuda;

//===----------------------------------------------------------------------===//
// Launch helpers
//===----------------------------------------------------------------------===//

StringRef Launch::family() const {
  return cast<StringAttr>(attrs.get("family")).getValue();
}
StringRef Launch::role() const {
  return cast<StringAttr>(attrs.get("role")).getValue();
}
int64_t Launch::intAttr(StringRef name) const {
  return cast<IntegerAttr>(attrs.get(name)).getInt();
}
ArrayRef<int64_t> Launch::arrayAttr(StringRef name) const {
  return cast<DenseI64ArrayAttr>(attrs.get(name)).asArrayRef();
}
std::string Launch::scalar(size_t i) const {
  return scalarType(params[i].getElementType());
}

std::string mlir::d2l::cuda::scalarType(Type t) {
  if (t.isF32())
    return "float";
  if (t.isF64())
    return "double";
  if (t.isSignlessInteger(64))
    return "d2l_i64";
  if (t.isSignlessInteger(32))
    return "int";
  return "";
}

std::string mlir::d2l::cuda::mathFn(StringRef name, Type t) {
  return t.isF64() ? name.str() : (name + "f").str();
}

std::string mlir::d2l::cuda::reluExpr(StringRef x, Type t) {
  std::string a = "(" + x.str() + ")";
  return "(" + a + " > " + literal(0, t) + " || " + a + " != " + a + ") ? " +
         a + " : " + literal(0, t);
}

std::string mlir::d2l::cuda::firstMaxCondition(StringRef v) {
  return ("best < 0 || " + v + " > bestValue || (" + v + " != " + v +
          " && bestValue == bestValue)")
      .str();
}

std::string mlir::d2l::cuda::literal(double v, Type t) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (std::isinf(v)) {
    os << (v < 0 ? "-" : "") << "D2L_INF";
    return s;
  }
  if (std::isnan(v))
    return "D2L_NAN";
  os << llvm::format("%.17g", v);
  if (s.find_first_of(".e") == std::string::npos && s != "nan")
    s += ".0";
  if (!t.isF64())
    s += "f";
  return s;
}

SmallVector<int64_t> mlir::d2l::cuda::stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> s(shape.size(), 1);
  for (int64_t i = int64_t(shape.size()) - 2; i >= 0; --i)
    s[i] = s[i + 1] * shape[i + 1];
  return s;
}

void mlir::d2l::cuda::printBroadcastOffsets(
    llvm::raw_ostream &os, StringRef indent, StringRef index,
    ArrayRef<int64_t> shape, ArrayRef<SmallVector<int64_t>> operandShapes,
    ArrayRef<std::string> offsets) {
  int64_t rank = int64_t(shape.size());
  int64_t total = 1;
  for (int64_t d : shape)
    total *= d;
  bool needIndex = false;
  SmallVector<SmallVector<int64_t>> strides;
  for (auto [k, s] : llvm::enumerate(operandShapes)) {
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    SmallVector<int64_t> st(rank, 0);
    auto own = stridesOf(s);
    int64_t lead = rank - int64_t(s.size());
    for (int64_t d = 0; d < int64_t(s.size()); ++d)
      st[lead + d] = s[d] == 1 ? 0 : own[d];
    strides.push_back(st);
    if (n == total)
      os << indent << "const long long " << offsets[k] << " = " << index
         << ";\n";
    else if (n == 1)
      os << indent << "const long long " << offsets[k] << " = 0;\n";
    else {
      os << indent << "long long " << offsets[k] << " = 0;\n";
      needIndex = true;
    }
  }
  if (!needIndex)
    return;
  os << indent << "{\n" << indent << "  long long r = " << index << ";\n";
  for (int64_t d = rank - 1; d >= 0; --d) {
    bool used = false;
    for (auto [k, s] : llvm::enumerate(operandShapes)) {
      int64_t n = 1;
      for (int64_t e : s)
        n *= e;
      if (n != total && n != 1 && strides[k][d])
        used = true;
    }
    if (!used) {
      if (d > 0)
        os << indent << "  r /= " << shape[d] << ";\n";
      continue;
    }
    os << indent << "  const long long q" << d << " = r % " << shape[d]
       << ";\n";
    if (d > 0)
      os << indent << "  r /= " << shape[d] << ";\n";
    for (auto [k, s] : llvm::enumerate(operandShapes)) {
      int64_t n = 1;
      for (int64_t e : s)
        n *= e;
      if (n != total && n != 1 && strides[k][d])
        os << indent << "  " << offsets[k] << " += q" << d << " * "
           << strides[k][d] << ";\n";
    }
  }
  os << indent << "}\n";
}

//===----------------------------------------------------------------------===//
// The file
//===----------------------------------------------------------------------===//

namespace {

const char *kPreamble = R"d2l(#if defined(__CUDACC__)
// CUDA (NVRTC or nvcc): the phased kernel macros are plain CUDA.
#define D2L_GLOBAL extern "C" __global__
#define D2L_LAUNCH_BOUNDS(n) __launch_bounds__(n)
#define D2L_DEVICE static __device__ __forceinline__
#define D2L_SHARED __shared__
#define D2L_THREADS if (true)
#define D2L_BARRIER __syncthreads()
#define D2L_PRIVATE(type, name, count, threads) type name[count]
#define D2L_P(name) name
#define D2L_INF __int_as_float(0x7f800000)
#define D2L_NAN __int_as_float(0x7fffffff)
#define D2L_HOST_ENTRY(name, ...)
typedef long long d2l_i64;
#elif !defined(D2LRT_CUDA_HOST_H)
#error "compile this file with NVRTC or nvcc, or with the d2lrt host header (-include d2lrt/cuda_host.h)"
#elif D2LRT_HOST_ABI != 1
#error "this file needs d2lrt host ABI 1"
#endif
)d2l";

const char *kPhilox = R"d2l(
// Philox4x32-10 (Salmon et al., SC'11), as runtime/include/d2lrt/Philox.h:
// the uniform number dropout compares with p for element `index`.
D2L_DEVICE double d2l_dropout_uniform(d2l_i64 seed, unsigned long long index,
                                      unsigned salt) {
  unsigned c0 = (unsigned)index, c1 = (unsigned)(index >> 32), c2 = salt,
           c3 = 0u;
  unsigned k0 = (unsigned)(unsigned long long)seed,
           k1 = (unsigned)((unsigned long long)seed >> 32);
  for (int round = 0; round < 10; ++round) {
    if (round > 0) {
      k0 += 0x9E3779B9u;
      k1 += 0xBB67AE85u;
    }
    unsigned long long p0 = 0xD2511F53ull * c0, p1 = 0xCD9E8D57ull * c2;
    unsigned n0 = (unsigned)(p1 >> 32) ^ c1 ^ k0;
    unsigned n2 = (unsigned)(p0 >> 32) ^ c3 ^ k1;
    c1 = (unsigned)p1;
    c3 = (unsigned)p0;
    c0 = n0;
    c2 = n2;
  }
  return (double)(c0 >> 8) * (1.0 / 16777216.0);
}
)d2l";

std::string kindOfArgument(func::FuncOp f, unsigned i) {
  if (f.getArgAttr(i, kParamAttr))
    return "parameter";
  if (f.getArgAttr(i, kStateAttr))
    return "state";
  return "input";
}

std::string kindOfResult(func::FuncOp f, unsigned i) {
  if (f.getResultAttr(i, kParamAttr))
    return "parameter";
  if (f.getResultAttr(i, kStateAttr))
    return "state";
  return "output";
}

std::string dtypeOf(Type t) {
  if (t.isF32())
    return "F32";
  if (t.isF64())
    return "F64";
  if (t.isSignlessInteger(64))
    return "I64";
  if (t.isSignlessInteger(32))
    return "I32";
  if (t.isF16())
    return "F16";
  if (t.isBF16())
    return "BF16";
  return "?";
}

std::string opDescription(Operation *op) {
  std::string where = formatLocation(op);
  std::string name = op->getName().getStringRef().str();
  if (auto fused = dyn_cast<FusedOp>(op)) {
    // A fused group lists its ops (the first few of a long one, such as
    // the multi-tensor update of every parameter).
    constexpr size_t kListed = 8;
    size_t listed = 0,
           count =
               size_t(llvm::range_size(fused.getBlock().without_terminator()));
    name += " " + fused.getKind().str() + " (";
    for (Operation &inner : fused.getBlock().without_terminator()) {
      if (listed == kListed && count > kListed + 1) {
        name += ", ... " + std::to_string(count - listed) + " more";
        break;
      }
      name += (listed++ ? ", " : "") + inner.getName().stripDialect().str();
    }
    name += ")";
  }
  return name + (where.empty() ? "" : " at " + where);
}

struct KernelText {
  std::string name;
  std::string body; // the printed kernel, without its op comment
  std::vector<std::string> ops;
};

class Emitter {
public:
  Emitter(ModuleOp module, const CUDAEmitOptions &options)
      : module(module), options(options) {}

  LogicalResult emit(llvm::raw_ostream &os) {
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      if (!func->getAttr("d2l.buffers"))
        return func.emitError()
               << "the CUDA emitter needs a scheduled module: run "
                  "--d2l-schedule first";
      if (failed(collect(func)))
        return failure();
    }
    os << "// " << options.modelName
       << ".cu: generated by d2lc from the d2l dialect; do not edit.\n"
       << "// Compile with NVRTC, with `nvcc -c`, or let d2lrt compile it "
          "(host backend:\n"
       << "// the system C++ compiler with -include d2lrt/cuda_host.h).\n";
    os << "/* D2LC-MANIFEST-BEGIN\n";
    printManifest(os);
    os << "\nD2LC-MANIFEST-END */\n\n";
    os << kPreamble;
    // The dropout generator only when a kernel draws masks.
    bool dropout = false;
    module.walk([&](DropoutOp op) { dropout |= bool(op.getSeed()); });
    if (dropout)
      os << kPhilox;
    for (const KernelText &k : kernels) {
      os << "\n// " << k.name << ": from";
      for (const std::string &op : k.ops)
        os << "\n//   " << op;
      os << "\n" << k.body;
    }
    return success();
  }

private:
  ModuleOp module;
  const CUDAEmitOptions &options;
  std::vector<KernelText> kernels;
  std::map<std::string, size_t> kernelIndex;

  static std::vector<RankedTensorType> bufferTypes(func::FuncOp f) {
    std::vector<RankedTensorType> types;
    for (Attribute a : f->getAttrOfType<ArrayAttr>("d2l.buffers")) {
      auto d = cast<DictionaryAttr>(a);
      types.push_back(
          cast<RankedTensorType>(cast<TypeAttr>(d.get("type")).getValue()));
    }
    return types;
  }

  LogicalResult collect(func::FuncOp func) {
    auto types = bufferTypes(func);
    for (RankedTensorType t : types)
      if (scalarType(t.getElementType()).empty())
        return func.emitError()
               << "the CUDA backend supports f32, f64, i32 and i64 tensors, "
                  "not "
               << t;
    for (Operation &op : func.getBody().front()) {
      auto launches = op.getAttrOfType<ArrayAttr>("d2l.launches");
      if (!launches)
        continue;
      for (Attribute a : launches) {
        Launch l;
        l.op = &op;
        l.attrs = cast<DictionaryAttr>(a);
        for (Attribute t : cast<ArrayAttr>(l.attrs.get("types")))
          l.params.push_back(
              cast<RankedTensorType>(cast<TypeAttr>(t).getValue()));
        l.outputs = l.intAttr("outputs");
        std::string name =
            cast<StringAttr>(l.attrs.get("kernel")).getValue().str();
        auto it = kernelIndex.find(name);
        if (it != kernelIndex.end()) {
          kernels[it->second].ops.push_back(opDescription(&op) + " in @" +
                                            func.getSymName().str());
          continue;
        }
        std::string body;
        llvm::raw_string_ostream bs(body);
        if (failed(printKernel(bs, name, l)))
          return failure();
        kernelIndex[name] = kernels.size();
        kernels.push_back(
            {name,
             body,
             {opDescription(&op) + " in @" + func.getSymName().str()}});
      }
    }
    return success();
  }

  LogicalResult printKernel(llvm::raw_ostream &os, StringRef name,
                            const Launch &l) {
    // A kernel that writes over one of its inputs has aliased parameters.
    bool inPlace = bool(l.attrs.get("in_place"));
    os << "D2L_GLOBAL void D2L_LAUNCH_BOUNDS(256) " << name << "(";
    for (size_t i = 0; i < l.params.size(); ++i) {
      bool in = i < l.numInputs();
      os << (i ? ", " : "") << (in ? "const " : "") << l.scalar(i)
         << (inPlace ? " *" : " *__restrict__ ") << l.paramName(i);
    }
    os << ") {\n";
    StringRef f = l.family();
    LogicalResult r = failure();
    if (f == "pointwise" || f == "split_sum")
      r = printPointwise(os, l);
    else if (f == "gemm" || f == "conv_fwd" || f == "conv_fwd_stats" ||
             f == "conv_transpose" || f == "conv_transpose_direct" ||
             f == "conv_wgrad")
      r = printGemmFamily(os, l);
    else if (f == "pool" || f == "pool_backward")
      r = printPool(os, l);
    else if (f.starts_with("bn_") || f.starts_with("ln_") || f == "stem_bwd")
      r = printNorm(os, l);
    else if (f == "reduce")
      r = printReduce(os, l);
    else if (f == "softmax" || f == "ce_fwd" || f == "ce_bwd")
      r = printSoftmaxFamily(os, l);
    else if (f == "gather" || f == "argmax")
      r = printMovement(os, l);
    else if (f == "fused" || f == "fused_multi")
      r = printFused(os, l);
    else
      return l.op->emitError()
             << "the CUDA emitter has no kernel family '" << f << "'";
    if (failed(r))
      return failure();
    os << "}\nD2L_HOST_ENTRY(" << name;
    for (size_t i = 0; i < l.params.size(); ++i) {
      bool in = i < l.numInputs();
      os << ", (" << (in ? "const " : "") << l.scalar(i) << " *)args[" << i
         << "]";
    }
    os << ")\n";
    return success();
  }

  void printManifest(llvm::raw_ostream &os) {
    llvm::json::OStream j(os, 1);
    j.object([&] {
      j.attribute("format", "d2lc-manifest");
      j.attribute("version", 1);
      j.attribute("generator", "d2lc");
      j.attribute("model", options.modelName);
      j.attribute("arch", options.arch);
      j.attributeArray("kernels", [&] {
        for (const KernelText &k : kernels)
          j.value(k.name);
      });
      // Parameters and states, shared by the entry points.
      j.attributeArray("tensors", [&] {
        std::map<std::string, bool> seen;
        for (auto func : module.getOps<func::FuncOp>())
          for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
            std::string kind = kindOfArgument(func, i);
            std::string name = argumentName(func, i);
            if (kind == "input" || seen[name])
              continue;
            seen[name] = true;
            auto t = cast<RankedTensorType>(func.getArgument(i).getType());
            j.object([&] {
              j.attribute("name", name);
              j.attribute("kind", kind);
              j.attribute("dtype", dtypeOf(t.getElementType()));
              j.attributeArray("shape", [&] {
                for (int64_t d : t.getShape())
                  j.value(d);
              });
              if (auto init = func.getArgAttrOfType<StringAttr>(i, kInitAttr))
                j.attribute("init", init.getValue());
            });
          }
      });
      // Constants, numbered across the entry points.
      std::vector<std::pair<RankedTensorType, ElementsAttr>> values;
      std::map<std::pair<std::string, int64_t>, int64_t> index;
      for (auto func : module.getOps<func::FuncOp>())
        for (auto [id, a] : llvm::enumerate(
                 func->getAttrOfType<ArrayAttr>("d2l.buffers").getValue())) {
          auto d = cast<DictionaryAttr>(a);
          if (auto v = dyn_cast_or_null<ElementsAttr>(d.get("value"))) {
            index[{func.getSymName().str(), int64_t(id)}] =
                int64_t(values.size());
            values.push_back({cast<RankedTensorType>(v.getType()), v});
          }
        }
      j.attributeArray("constants", [&] {
        for (auto &[type, v] : values)
          j.object([&] {
            j.attribute("dtype", dtypeOf(type.getElementType()));
            j.attributeArray("shape", [&] {
              for (int64_t d : type.getShape())
                j.value(d);
            });
            j.attributeArray("values", [&] {
              auto dense = cast<DenseElementsAttr>(v);
              if (isa<FloatType>(type.getElementType())) {
                if (dense.isSplat())
                  j.value(dense.getSplatValue<APFloat>().convertToDouble());
                else
                  for (APFloat f : dense.getValues<APFloat>())
                    j.value(f.convertToDouble());
              } else {
                if (dense.isSplat())
                  j.value(dense.getSplatValue<APInt>().getSExtValue());
                else
                  for (APInt i : dense.getValues<APInt>())
                    j.value(i.getSExtValue());
              }
            });
          });
      });
      j.attributeArray("entries", [&] {
        for (auto func : module.getOps<func::FuncOp>())
          printEntry(j, func, index);
      });
    });
  }

  void printEntry(
      llvm::json::OStream &j, func::FuncOp func,
      const std::map<std::pair<std::string, int64_t>, int64_t> &constantIndex) {
    auto table = func->getAttrOfType<ArrayAttr>("d2l.buffers");
    auto argBuffers = func->getAttrOfType<DenseI64ArrayAttr>("d2l.arg_buffers");
    auto resultBuffers =
        func->getAttrOfType<DenseI64ArrayAttr>("d2l.result_buffers");
    std::map<std::string, int64_t> kernelNumber;
    for (auto [i, k] : llvm::enumerate(kernels))
      kernelNumber[k.name] = int64_t(i);
    j.object([&] {
      j.attribute("name", func.getSymName());
      j.attributeArray("arguments", [&] {
        for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
          j.object([&] {
            j.attribute("name", argumentName(func, i));
            j.attribute("kind", kindOfArgument(func, i));
            j.attribute("buffer", argBuffers[i]);
          });
      });
      j.attributeArray("results", [&] {
        for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
          j.object([&] {
            j.attribute("name", resultName(func, i));
            j.attribute("kind", kindOfResult(func, i));
            j.attribute("buffer", resultBuffers[i]);
          });
      });
      if (auto arena = func->getAttrOfType<IntegerAttr>("d2l.arena"))
        j.attribute("arena", arena.getInt());
      j.attributeArray("buffers", [&] {
        for (auto [id, a] : llvm::enumerate(table.getValue())) {
          auto d = cast<DictionaryAttr>(a);
          auto type =
              cast<RankedTensorType>(cast<TypeAttr>(d.get("type")).getValue());
          std::string kind = cast<StringAttr>(d.get("kind")).getValue().str();
          j.object([&] {
            j.attribute("id", int64_t(id));
            j.attribute("kind", kind);
            j.attribute("dtype", dtypeOf(type.getElementType()));
            j.attributeArray("shape", [&] {
              for (int64_t s : type.getShape())
                j.value(s);
            });
            j.attribute("bytes", type.getNumElements() *
                                     type.getElementTypeBitWidth() / 8);
            j.attribute("first", cast<IntegerAttr>(d.get("first")).getInt());
            j.attribute("last", cast<IntegerAttr>(d.get("last")).getInt());
            std::string name = cast<StringAttr>(d.get("name")).getValue().str();
            j.attribute("name", name);
            if (auto offset = d.getAs<IntegerAttr>("offset"))
              j.attribute("offset", offset.getInt());
            if (kind == "parameter" || kind == "state")
              j.attribute("tensor", name);
            if (kind == "constant")
              j.attribute("constant", constantIndex.at({func.getSymName().str(),
                                                        int64_t(id)}));
          });
        }
      });
      j.attributeArray("launches", [&] {
        for (Operation &op : func.getBody().front()) {
          auto launches = op.getAttrOfType<ArrayAttr>("d2l.launches");
          if (!launches)
            continue;
          for (Attribute a : launches) {
            auto d = cast<DictionaryAttr>(a);
            auto arr = [&](StringRef k) {
              return cast<DenseI64ArrayAttr>(d.get(k)).asArrayRef();
            };
            j.object([&] {
              j.attribute(
                  "kernel",
                  kernelNumber.at(
                      cast<StringAttr>(d.get("kernel")).getValue().str()));
              j.attributeArray("grid", [&] {
                for (int64_t v : arr("grid"))
                  j.value(v);
              });
              j.attributeArray("block", [&] {
                for (int64_t v : arr("block"))
                  j.value(v);
              });
              j.attributeArray("args", [&] {
                for (int64_t v : arr("args"))
                  j.value(v);
              });
              j.attribute("ops", opDescription(&op));
            });
          }
        }
      });
    });
  }
};

} // namespace

LogicalResult mlir::d2l::emitCUDA(ModuleOp module, llvm::raw_ostream &os,
                                  const CUDAEmitOptions &options) {
  Emitter emitter(module, options);
  return emitter.emit(os);
}
