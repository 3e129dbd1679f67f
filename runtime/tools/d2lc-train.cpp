//===- d2lc-train.cpp - train a compiled model of the book ----------------===//
//
//   d2lc-train MODEL.cu [--data fashion-mnist|DIR] --epochs E --lr LR
//              [--batch B] [--resize S] [--backend host|cuda] [--seed S]
//              [--checkpoint CK.safetensors] [--resume CK.safetensors]
//              [--plot CURVES.svg] [--limit N] [--test-limit N]
//              [--no-shuffle] [--host-threads N]
//              [--task classify|segment|lm|seq2seq] [--corpus PATH]
//              [--prefix TEXT] [--held-out F]
//
// The task follows from the model: images and a class per image, a class
// per pixel (FCN), one-hot characters and a state (a language model: see
// trainLanguageModel; --limit then counts characters of the corpus), or
// source and decoder-input tokens (translation: see trainSeq2Seq; --corpus
// is a directory of .mo catalogues, or debian-handbook's HTML when it holds
// en-US/ and fr-FR/ (--corpus handbook: where scripts/setup.sh puts it);
// --limit counts pairs).
//
// The book's train_ch6 with a compiled @train_step (d2lc --train): reads the
// gzipped IDX files of Debian's dataset-fashion-mnist, shuffles the
// training set each epoch (seeded), resizes bilinearly like torchvision's
// Resize when the model takes larger images, and runs @train_step batch by
// batch; the last, partial batch is padded with rows labelled -1, which the
// loss ignores, and the learning rate of that step is scaled by N / rows so
// that the update is the mean over the real rows (no recompilation). After
// each epoch it prints the book's line (loss, train acc, test acc) and the
// examples per second; --plot writes the curves as SVG, --checkpoint the
// parameters and BatchNorm statistics (a PyTorch state_dict, strict) each
// epoch, atomically, and the optimizer's states beside it; --resume
// continues from one. A model whose labels are
// [N, S, S] (FCN) is trained to segment: each pixel brighter than 0.5 is
// labelled with the item's class, the rest with the background class (the
// last), and the accuracies are per pixel.
//
//===----------------------------------------------------------------------===//

#include "d2lrt/Error.h"
#include "d2lrt/Idx.h"
#include "d2lrt/Nmt.h"
#include "d2lrt/Runtime.h"
#include "d2lrt/Safetensors.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

struct Options {
  std::string model, data = "fashion-mnist", checkpoint, resume, plot;
  std::string backend = "host";
  int epochs = 10;
  double lr = 0.1;
  int64_t batch = 0, resize = 0, limit = 0, testLimit = 0;
  uint64_t seed = 0;
  unsigned threads = 0;
  bool shuffle = true;
  std::string task;    // set from the model: "classify", "segment" or "lm"
  std::string corpus = // --task lm: the text
      "/usr/share/gocode/src/github.com/pierrec/lz4/testdata/"
      "Mark.Twain-Tom.Sawyer.txt";
  std::string prefix = "tom "; // --task lm: the sample's beginning
  bool corpusSet = false;
  double heldOut = 0; // --task lm: the fraction of the corpus held out
};

/// Where scripts/setup.sh extracts the French catalogues of Debian's
/// libreoffice-l10n-fr (d2lc-train --task seq2seq's default --corpus).
constexpr const char *kMoDir = "/var/cache/d2lc/libreoffice-l10n-fr";
/// Where scripts/setup.sh copies the English and French HTML of Debian's
/// debian-handbook (--corpus handbook).
constexpr const char *kHandbookDir = "/var/cache/d2lc/debian-handbook";

int usage() {
  std::fprintf(
      stderr,
      "usage: d2lc-train MODEL.cu [--data fashion-mnist|DIR] --epochs E --lr "
      "LR [--batch B] [--resize S] [--backend host|cuda] [--seed S] "
      "[--checkpoint CK.safetensors] [--resume CK.safetensors] [--plot "
      "CURVES.svg] [--limit N] [--test-limit N] [--no-shuffle] "
      "[--host-threads N] [--task classify|segment|lm|seq2seq] [--corpus PATH] "
      "[--held-out F] "
      "[--prefix TEXT]\n"
      "  --corpus for --task seq2seq: a directory of .mo catalogues (default "
      "%s), or one with en-US/ and fr-FR/ of debian-handbook's HTML "
      "(handbook: %s)\n",
      kMoDir, kHandbookDir);
  return 2;
}

[[noreturn]] void fail(const std::string &m) { throw d2lrt::Error(m); }

/// One split of the data set as floats in [0, 1], [N, S, S].
struct Split {
  int64_t n = 0, size = 28;
  std::vector<float> images; // n * size * size
  std::vector<int64_t> labels;
};

Split loadSplit(const std::string &dir, bool train, int64_t limit) {
  d2lrt::IdxArray images, labels;
  std::string err = d2lrt::loadFashionMnist(dir, train, images, labels);
  if (!err.empty())
    fail(err);
  Split s;
  s.n = images.dims[0];
  if (limit > 0)
    s.n = std::min(s.n, limit);
  s.images.resize(size_t(s.n * 28 * 28));
  for (size_t i = 0; i < s.images.size(); ++i)
    s.images[i] = float(images.data[i]) / 255.0f;
  s.labels.assign(labels.data.begin(), labels.data.begin() + s.n);
  return s;
}

/// Segmentation (a model whose labels are [N, S, S], such as FCN): each
/// pixel brighter than this is labelled with the item's class, the others
/// with the background class (the last one).
constexpr float kForeground = 0.5f;

/// The batch of rows `order[begin, begin + N)` as X [N, 1, S, S] and
/// labels [N] (or [N, S, S] per pixel when `y` has that shape). Rows past
/// the end are padding: images from the start of `order` labelled -1, so
/// they count in BatchNorm's batch statistics like any sample (zeros would
/// skew them) but not in the loss or accuracy.
void fillBatch(const Split &s, const std::vector<int64_t> &order, int64_t begin,
               int64_t n, int64_t size, int64_t background,
               d2lrt::HostTensor &x, d2lrt::HostTensor &y) {
  float *px = x.data<float>();
  int64_t *py = y.data<int64_t>();
  const bool perPixel = y.shape.size() == 3;
  for (int64_t r = 0; r < n; ++r) {
    int64_t i = begin + r;
    bool pad = i >= int64_t(order.size());
    int64_t k = order[size_t(
        pad ? (i - int64_t(order.size())) % int64_t(order.size()) : i)];
    const float *img = &s.images[size_t(k * 28 * 28)];
    if (size == 28)
      std::copy(img, img + 28 * 28, px + r * 28 * 28);
    else
      d2lrt::resizeBilinear(img, 28, px + r * size * size, size);
    if (!perPixel) {
      py[r] = pad ? -1 : s.labels[size_t(k)];
      continue;
    }
    const float *pixels = px + r * size * size;
    for (int64_t p = 0; p < size * size; ++p)
      py[r * size * size + p] = pad                       ? -1
                                : pixels[p] > kForeground ? s.labels[size_t(k)]
                                                          : background;
  }
}

/// Correct predictions among the positions with a label: the argmax over
/// dimension 1 of logits [N, C, d...] against labels [N, d...].
int64_t correct(const d2lrt::HostTensor &logits, const d2lrt::HostTensor &y) {
  int64_t n = logits.shape[0], c = logits.shape[1], right = 0;
  int64_t inner = logits.numel() / (n * c);
  const float *pl = logits.data<float>();
  const int64_t *py = y.data<int64_t>();
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < inner; ++k) {
      int64_t label = py[r * inner + k];
      if (label < 0)
        continue;
      const float *v = pl + r * c * inner + k;
      int64_t best = 0;
      for (int64_t j = 1; j < c; ++j)
        if (v[j * inner] > v[best * inner])
          best = j;
      right += best == label;
    }
  return right;
}

struct EpochResult {
  double loss, trainAcc, testAcc, examplesPerSecond;
};

/// The curves as an SVG like the book's Animator: epochs on x, loss and
/// accuracies on y.
std::string plotSvg(const std::vector<EpochResult> &h,
                    const char *lossName = "train loss") {
  const int w = 480, ht = 320, l = 50, r = 20, t = 20, b = 40;
  double ymax = 1.0;
  for (const EpochResult &e : h)
    ymax = std::max(ymax, e.loss);
  int n = int(h.size());
  auto X = [&](int i) {
    return l + (n > 1 ? double(i) * (w - l - r) / (n - 1) : (w - l - r) / 2.0);
  };
  auto Y = [&](double v) { return t + (1 - v / ymax) * (ht - t - b); };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << w
     << "\" height=\"" << ht
     << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
     << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
     << "<line x1=\"" << l << "\" y1=\"" << ht - b << "\" x2=\"" << w - r
     << "\" y2=\"" << ht - b << "\" stroke=\"black\"/>\n"
     << "<line x1=\"" << l << "\" y1=\"" << t << "\" x2=\"" << l << "\" y2=\""
     << ht - b << "\" stroke=\"black\"/>\n"
     << "<text x=\"" << (w + l) / 2 << "\" y=\"" << ht - 8
     << "\" text-anchor=\"middle\">epoch</text>\n";
  for (int i = 0; i < n; ++i)
    os << "<text x=\"" << X(i) << "\" y=\"" << ht - b + 16
       << "\" text-anchor=\"middle\">" << i + 1 << "</text>\n";
  for (int k = 0; k <= 4; ++k) {
    double v = ymax * k / 4;
    os << "<text x=\"" << l - 6 << "\" y=\"" << Y(v) + 4
       << "\" text-anchor=\"end\">" << std::round(v * 100) / 100 << "</text>\n";
  }
  struct Series {
    const char *name, *color, *dash;
    double EpochResult::*field;
  };
  const Series series[] = {
      {lossName, "#1f77b4", "", &EpochResult::loss},
      {"train acc", "#bf00bf", "6,3", &EpochResult::trainAcc},
      {"test acc", "#008000", "2,3", &EpochResult::testAcc}};
  int legend = 0;
  for (const Series &s : series) {
    if (n && h[0].*s.field < 0)
      continue; // not measured (accuracies of a language model)
    os << "<polyline fill=\"none\" stroke=\"" << s.color
       << "\" stroke-width=\"2\" stroke-dasharray=\"" << s.dash
       << "\" points=\"";
    for (int i = 0; i < n; ++i)
      os << X(i) << "," << Y(h[size_t(i)].*s.field) << " ";
    os << "\"/>\n";
    int ly = t + 10 + 16 * legend++;
    os << "<line x1=\"" << w - r - 110 << "\" y1=\"" << ly << "\" x2=\""
       << w - r - 85 << "\" y2=\"" << ly << "\" stroke=\"" << s.color
       << "\" stroke-width=\"2\" stroke-dasharray=\"" << s.dash << "\"/>\n"
       << "<text x=\"" << w - r - 80 << "\" y=\"" << ly + 4 << "\">" << s.name
       << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

/// The optimizer's states (SGD's momentum buffers, Adam's moments and step
/// count): not part of a PyTorch state_dict, so not in the checkpoint but
/// in a file beside it (optimizerPath), as PyTorch keeps an optimizer's
/// state_dict apart from the model's.
bool isOptimizerState(const std::string &name) {
  return name.rfind("momentum.", 0) == 0 || name.rfind("adam.", 0) == 0;
}

bool endsWith(const std::string &s, const std::string &suffix) {
  return s.size() > suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

/// The file of the optimizer's states beside a checkpoint:
/// CK.safetensors -> CK.optimizer.safetensors (CK -> CK.optimizer).
std::string optimizerPath(const std::string &checkpoint) {
  const std::string ext = ".safetensors";
  if (endsWith(checkpoint, ext))
    return checkpoint.substr(0, checkpoint.size() - ext.size()) + ".optimizer" +
           ext;
  return checkpoint + ".optimizer";
}

/// Where a run starts: from scratch (parameters initialised with --seed),
/// or from --resume's checkpoint (parameters, BatchNorm statistics, epoch,
/// step count and curves) and the optimizer's states beside it, when the
/// step has any: from the file d2lc-train wrote with the checkpoint, which
/// must be of the same epoch and step; without that file (a state_dict
/// from PyTorch, say) they start at zero, and a note says so.
struct Progress {
  int firstEpoch = 0;
  int64_t steps = 0;
  std::vector<EpochResult> history;
};

Progress startRun(const Options &o, d2lrt::Model &model) {
  Progress p;
  model.initialize(o.seed);
  if (o.resume.empty())
    return p;
  d2lrt::TensorFile ck;
  std::string err = d2lrt::readSafetensors(o.resume, ck);
  if (!err.empty())
    fail(err);
  for (const d2lrt::TensorSpec &t : model.manifest().tensors) {
    const d2lrt::HostTensor *v = ck.find(t.name);
    if (v)
      model.setTensor(t.name, *v);
    else if (!isOptimizerState(t.name))
      fail(o.resume + " has no tensor '" + t.name + "'");
  }
  auto it = ck.metadata.find("epoch");
  if (it != ck.metadata.end())
    p.firstEpoch = std::atoi(it->second.c_str());
  it = ck.metadata.find("steps");
  if (it != ck.metadata.end())
    p.steps = std::atoll(it->second.c_str());
  it = ck.metadata.find("history"); // "loss train test ex/s;" per epoch
  if (it != ck.metadata.end()) {
    std::istringstream in(it->second);
    std::string row;
    while (std::getline(in, row, ';')) {
      EpochResult r{};
      std::istringstream fields(row);
      if (fields >> r.loss >> r.trainAcc >> r.testAcc >> r.examplesPerSecond)
        p.history.push_back(r);
    }
  }
  if (p.firstEpoch >= o.epochs)
    fail(o.resume + " is already at epoch " + std::to_string(p.firstEpoch) +
         ": pass --epochs greater than that to continue");
  std::vector<std::string> states;
  for (const d2lrt::TensorSpec &t : model.manifest().tensors)
    if (isOptimizerState(t.name))
      states.push_back(t.name);
  if (states.empty())
    return p;
  std::string path = optimizerPath(o.resume);
  if (!std::ifstream(path)) {
    std::fprintf(stderr,
                 "d2lc-train: note: no %s: the optimizer's states start at "
                 "zero\n",
                 path.c_str());
    return p;
  }
  d2lrt::TensorFile opt;
  err = d2lrt::readSafetensors(path, opt);
  if (!err.empty())
    fail(err);
  for (const char *key : {"epoch", "steps"}) {
    auto a = ck.metadata.find(key), b = opt.metadata.find(key);
    std::string ckValue = a == ck.metadata.end() ? "none" : a->second;
    std::string optValue = b == opt.metadata.end() ? "none" : b->second;
    if (ckValue != optValue)
      fail(path + " is of " + key + " " + optValue + " but " + o.resume +
           " of " + key + " " + ckValue +
           ": the optimizer's states do not belong to that checkpoint (move "
           "it away to resume with them at zero)");
  }
  for (const std::string &name : states) {
    const d2lrt::HostTensor *v = opt.find(name);
    if (!v)
      fail(path + " has no tensor '" + name + "'");
    model.setTensor(name, *v);
  }
  return p;
}

/// After an epoch: --checkpoint (a PyTorch state_dict: parameters, BatchNorm
/// statistics and their num_batches_tracked counters, which strict loading
/// needs; the run's progress in the metadata) and --plot, both atomically.
void saveEpoch(const Options &o, d2lrt::Model &model, int epoch, int64_t steps,
               const std::vector<EpochResult> &history) {
  if (!o.checkpoint.empty()) {
    d2lrt::TensorFile ck, opt;
    for (const d2lrt::TensorSpec &t : model.manifest().tensors) {
      if (isOptimizerState(t.name)) {
        opt.set(t.name, model.tensor(t.name));
        continue;
      }
      ck.set(t.name, model.tensor(t.name));
      const std::string suffix = ".running_mean";
      if (endsWith(t.name, suffix)) {
        d2lrt::HostTensor c = d2lrt::HostTensor::zeros(d2lrt::DType::I64, {});
        c.data<int64_t>()[0] = steps;
        ck.set(t.name.substr(0, t.name.size() - suffix.size()) +
                   ".num_batches_tracked",
               c);
      }
    }
    ck.metadata["epoch"] = std::to_string(epoch + 1);
    ck.metadata["steps"] = std::to_string(steps);
    std::ostringstream rows;
    for (const EpochResult &h : history)
      rows << h.loss << " " << h.trainAcc << " " << h.testAcc << " "
           << h.examplesPerSecond << ";";
    ck.metadata["history"] = rows.str();
    ck.metadata["model"] = o.model;
    // The optimizer's states first: a checkpoint never lands without the
    // states of its epoch (each file is written atomically; --resume
    // checks that both are of the same epoch and step).
    if (!opt.tensors.empty()) {
      opt.metadata["epoch"] = ck.metadata["epoch"];
      opt.metadata["steps"] = ck.metadata["steps"];
      opt.metadata["model"] = o.model;
      std::string err =
          d2lrt::writeSafetensors(optimizerPath(o.checkpoint), opt);
      if (!err.empty())
        fail(err);
    }
    std::string err = d2lrt::writeSafetensors(o.checkpoint, ck);
    if (!err.empty())
      fail(err);
  }
  if (!o.plot.empty()) {
    std::string svg =
        plotSvg(history, o.task == "lm" ? "perplexity" : "train loss");
    std::string err = d2lrt::writeFileAtomically(
        o.plot, std::vector<uint8_t>(svg.begin(), svg.end()));
    if (!err.empty())
      fail(err);
  }
}

/// The book's character corpus (read_time_machine, load_corpus_time_machine):
/// each line's runs of non-letters become one space, the line is trimmed and
/// lower-cased, and the characters of all lines are concatenated. The
/// vocabulary (Vocab) is '<unk>' and then the characters by falling
/// frequency, ties in order of first appearance.
struct Corpus {
  std::vector<int64_t> tokens;
  std::vector<char> vocab; // index -> character; 0 is '<unk>'
  std::vector<int64_t> index = std::vector<int64_t>(256, 0);
};

Corpus loadCorpus(const std::string &path, int64_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    fail(path + ": cannot open (the language-model corpus; --corpus FILE)");
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  std::string text;
  std::string line;
  auto flush = [&]() {
    size_t b = line.find_first_not_of(' '), e = line.find_last_not_of(' ');
    if (b != std::string::npos)
      text += line.substr(b, e - b + 1);
    line.clear();
  };
  for (uint8_t c : bytes) {
    if (c == '\n') {
      flush();
      continue;
    }
    if (std::isalpha(c) && c < 128)
      line += char(std::tolower(c));
    else if (line.empty() || line.back() != ' ')
      line += ' ';
  }
  flush();
  if (limit > 0 && int64_t(text.size()) > limit)
    text.resize(size_t(limit));
  Corpus c;
  std::vector<int64_t> count(256, 0), first(256, -1);
  for (size_t i = 0; i < text.size(); ++i) {
    uint8_t ch = uint8_t(text[i]);
    if (count[ch]++ == 0)
      first[ch] = int64_t(i);
  }
  std::vector<int> chars;
  for (int ch = 0; ch < 256; ++ch)
    if (count[size_t(ch)])
      chars.push_back(ch);
  std::stable_sort(chars.begin(), chars.end(), [&](int a, int b) {
    return count[size_t(a)] != count[size_t(b)]
               ? count[size_t(a)] > count[size_t(b)]
               : first[size_t(a)] < first[size_t(b)];
  });
  c.vocab.push_back('?'); // <unk>
  for (int ch : chars) {
    c.index[size_t(ch)] = int64_t(c.vocab.size());
    c.vocab.push_back(char(ch));
  }
  for (char ch : text)
    c.tokens.push_back(c.index[uint8_t(ch)]);
  return c;
}

/// Runs @train_step on `in` (with this step's dropout seed when the model
/// takes one), leaving the updated parameters on the device, and returns
/// the loss; a non-finite loss is an error naming the epoch and batch.
double runTrainStep(d2lrt::Model &model, d2lrt::TensorFile &in, bool hasSeed,
                    const Options &o, int64_t step, int epoch,
                    int64_t batchIndex, d2lrt::TensorFile *out = nullptr) {
  if (hasSeed) {
    d2lrt::HostTensor s = d2lrt::HostTensor::zeros(d2lrt::DType::I64, {});
    s.data<int64_t>()[0] = int64_t(o.seed * 1000003ULL + uint64_t(step));
    in.set("seed", s);
  }
  d2lrt::TensorFile result = model.run("train_step", in, d2lrt::Fetch::Outputs);
  double loss = double(result.find("loss")->data<float>()[0]);
  if (!std::isfinite(loss))
    fail("the loss is " + std::to_string(loss) + " at epoch " +
         std::to_string(epoch + 1) + ", batch " +
         std::to_string(batchIndex + 1) + ": lower --lr");
  if (out)
    *out = std::move(result);
  return loss;
}

/// --task lm: the book's train_ch8 with random sampling
/// (seq_data_iter_random: a random offset, subsequences of T characters in
/// a shuffled order, batches of B, a zero state for each batch), SGD with
/// the clipping compiled into @train_step (d2lc --clip-norm 1), perplexity
/// and tokens/sec per epoch, and a greedy sample from --prefix.
int trainLanguageModel(const Options &o, d2lrt::Model &model,
                       const d2lrt::EntrySpec *step) {
  const d2lrt::BufferSpec *xb = nullptr, *hb = nullptr;
  for (const d2lrt::BindingSpec &a : step->arguments) {
    if (a.name == "X")
      xb = &step->buffers[size_t(a.buffer)];
    if (a.name == "state")
      hb = &step->buffers[size_t(a.buffer)];
  }
  // The initial state of each batch: zeros for `state` (and `cell`, an
  // LSTM's memory).
  std::vector<std::string> states{"state"};
  for (const d2lrt::BindingSpec &a : step->arguments)
    if (a.name == "cell")
      states.push_back(a.name);
  int64_t steps = xb->shape[0], batch = xb->shape[1], vocab = xb->shape[2];
  Corpus corpus = loadCorpus(o.corpus, o.limit);
  if (int64_t(corpus.vocab.size()) != vocab)
    fail(o.corpus + " has " + std::to_string(corpus.vocab.size()) +
         " tokens ('<unk>' and its characters) but " + o.model +
         " was built for " + std::to_string(vocab));
  // --held-out F: the last F of the text is not trained on; its
  // perplexity is measured after each epoch.
  int64_t total = int64_t(corpus.tokens.size());
  int64_t trainEnd = total - int64_t(o.heldOut * double(total));
  int64_t needed = steps * batch + 1 + steps;
  if (trainEnd < needed)
    fail(o.corpus + ": " + std::to_string(corpus.tokens.size()) +
         " characters are too few for one batch of " + std::to_string(batch) +
         " x " + std::to_string(steps));
  if (o.batch && o.batch != batch)
    fail("--batch " + std::to_string(o.batch) + " but " + o.model +
         " was compiled for batch " + std::to_string(batch));

  Progress progress = startRun(o, model);
  std::vector<EpochResult> history = progress.history;
  int64_t done = progress.steps;
  std::mt19937_64 rng(o.seed ^ 0x5eedULL);
  auto onehot = [&](d2lrt::HostTensor &x, const std::vector<int64_t> &starts,
                    int64_t shift, d2lrt::HostTensor *labels) {
    float *px = x.data<float>();
    std::fill(px, px + x.numel(), 0.0f);
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t t = 0; t < steps; ++t) {
        int64_t i = starts[size_t(b)] + t;
        px[(t * batch + b) * vocab + corpus.tokens[size_t(i)]] = 1.0f;
        if (labels) // Y.T flattened: row t * B + b
          labels->data<int64_t>()[t * batch + b] =
              corpus.tokens[size_t(i + shift)];
      }
  };
  d2lrt::HostTensor x =
      d2lrt::HostTensor::zeros(d2lrt::DType::F32, {steps, batch, vocab});
  d2lrt::HostTensor y =
      d2lrt::HostTensor::zeros(d2lrt::DType::I64, {steps * batch});
  d2lrt::HostTensor h = d2lrt::HostTensor::zeros(d2lrt::DType::F32, hb->shape);
  d2lrt::HostTensor lr = d2lrt::HostTensor::zeros(d2lrt::DType::F32, {});
  lr.data<float>()[0] = float(o.lr);
  // The held-out windows: consecutive subsequences of T characters from
  // the end of the training text, B at a time, each batch from a zero
  // state; the perplexity is exp of the mean of the batches' mean loss.
  int64_t heldBatches =
      o.heldOut > 0 ? (total - trainEnd - 1) / steps / batch : 0;
  if (o.heldOut > 0 && heldBatches < 1)
    fail("--held-out " + std::to_string(o.heldOut) + " leaves " +
         std::to_string(total - trainEnd) +
         " characters, too few for one batch of " + std::to_string(batch) +
         " x " + std::to_string(steps));
  auto heldOutPerplexity = [&]() {
    double sum = 0;
    for (int64_t k = 0; k < heldBatches; ++k) {
      std::vector<int64_t> starts;
      for (int64_t b = 0; b < batch; ++b)
        starts.push_back(trainEnd + (k * batch + b) * steps);
      onehot(x, starts, 1, &y);
      d2lrt::TensorFile in;
      in.set("X", x);
      for (const std::string &name : states)
        in.set(name, h);
      in.set("labels", y);
      sum += double(model.run("eval_step", in).find("loss")->data<float>()[0]);
    }
    return std::exp(sum / double(heldBatches));
  };
  bool tty = ::isatty(2);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    // The epochs before --resume's draw their random numbers too.
    int64_t offset = int64_t(rng() % uint64_t(steps));
    int64_t subseqs = (trainEnd - offset - 1) / steps;
    std::vector<int64_t> starts(static_cast<size_t>(subseqs));
    for (int64_t i = 0; i < subseqs; ++i)
      starts[size_t(i)] = offset + i * steps;
    std::shuffle(starts.begin(), starts.end(), rng);
    if (epoch < progress.firstEpoch)
      continue;
    int64_t batches = subseqs / batch;
    double lossSum = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t bi = 0; bi < batches; ++bi) {
      std::vector<int64_t> rows(starts.begin() + bi * batch,
                                starts.begin() + (bi + 1) * batch);
      onehot(x, rows, 1, &y);
      d2lrt::TensorFile in;
      in.set("X", x);
      for (const std::string &name : states)
        in.set(name, h);
      in.set("labels", y);
      in.set("lr", lr);
      double loss = runTrainStep(model, in, false, o, done++, epoch, bi);
      lossSum += loss;
      if (tty)
        std::fprintf(stderr, "\repoch %d/%d %lld/%lld perplexity %.2f",
                     epoch + 1, o.epochs, (long long)(bi + 1),
                     (long long)batches, std::exp(lossSum / double(bi + 1)));
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (tty)
      std::fprintf(stderr, "\r%*s\r", 60, "");
    EpochResult r{std::exp(lossSum / double(batches)), -1, -1,
                  double(batches * batch * steps) / seconds};
    history.push_back(r);
    std::printf("epoch %d: perplexity %.2f\n", epoch + 1, r.loss);
    if (o.heldOut > 0)
      std::printf("held-out perplexity %.4f (%lld windows of %lld "
                  "characters)\n",
                  heldOutPerplexity(), (long long)heldBatches * batch,
                  (long long)steps);
    std::printf("%.1f tokens/sec on %s\n", r.examplesPerSecond,
                model.deviceName().c_str());

    // A greedy sample (predict_ch8): the prefix and what is generated, with
    // the last T characters as the context of each prediction.
    std::vector<int64_t> text;
    for (char ch : o.prefix)
      text.push_back(corpus.index[uint8_t(std::tolower(uint8_t(ch)))]);
    for (int k = 0; k < 50; ++k) {
      int64_t from = std::max<int64_t>(0, int64_t(text.size()) - steps);
      int64_t len = int64_t(text.size()) - from;
      float *px = x.data<float>();
      std::fill(px, px + x.numel(), 0.0f);
      for (int64_t t = 0; t < len; ++t)
        px[(t * batch) * vocab + text[size_t(from + t)]] = 1.0f;
      d2lrt::TensorFile in;
      in.set("X", x);
      for (const std::string &name : states)
        in.set(name, h);
      in.set("labels", y);
      d2lrt::TensorFile out = model.run("eval_step", in);
      const float *row =
          out.find("logits")->data<float>() + (len - 1) * batch * vocab;
      text.push_back(int64_t(std::max_element(row, row + vocab) - row));
    }
    std::string sample;
    for (int64_t t : text)
      sample += corpus.vocab[size_t(t)];
    std::printf("sample: %s\n", sample.c_str());
    std::fflush(stdout);
    saveEpoch(o, model, epoch, done, history);
  }
  return 0;
}

/// --task seq2seq: the book's train_seq2seq (9.7) on English-French pairs
/// from LibreOffice's French catalogues (d2lrt::loadMoPairs, sentences of
/// at most T - 1 tokens so that <eos> fits) or, where --corpus holds en-US/
/// and fr-FR/, from debian-handbook's HTML (d2lrt::loadHandbookPairs, every
/// sentence pair, longer ones truncated to T as the book's truncate_pad;
/// the counts printed): the book's Vocab (min_freq 2,
/// <pad> <bos> <eos>) of all pairs, capped at the model's embedding sizes;
/// every tenth pair held out. Batches of B shuffled training pairs (the last
/// partial one dropped): X and Y with <eos>, padded to T, their valid
/// lengths, dec_X = <bos> and Y shifted right, labels -1 past Y's valid
/// length. Per epoch: the loss per target token and tokens/sec; at the end:
/// greedy translations of the held-out pairs (predict_seq2seq: @eval_step
/// rerun with the growing decoder input, stopping at <eos>) and the book's
/// BLEU (k = 2), the first few printed.
int trainSeq2Seq(const Options &o, d2lrt::Model &model,
                 const d2lrt::EntrySpec *step) {
  const d2lrt::BufferSpec *xb = nullptr;
  bool hasSeed = false;
  for (const d2lrt::BindingSpec &a : step->arguments) {
    if (a.name == "X")
      xb = &step->buffers[size_t(a.buffer)];
    hasSeed |= a.name == "seed";
  }
  if (!xb || xb->shape.size() != 2)
    fail(o.model + ": a translation model takes X [B, T]");
  int64_t batch = xb->shape[0], steps = xb->shape[1];
  // The vocabulary sizes are the embedding tables'.
  int64_t srcSize = 0, tgtSize = 0;
  for (const d2lrt::TensorSpec &t : model.manifest().tensors) {
    if (t.name == "encoder.embedding.weight")
      srcSize = t.shape.at(0);
    if (t.name == "decoder.embedding.weight")
      tgtSize = t.shape.at(0);
  }
  if (!srcSize || !tgtSize)
    fail(o.model + " has no encoder.embedding.weight and "
                   "decoder.embedding.weight");
  if (o.batch && o.batch != batch)
    fail("--batch " + std::to_string(o.batch) + " but " + o.model +
         " was compiled for batch " + std::to_string(batch));
  std::vector<std::pair<d2lrt::Tokens, d2lrt::Tokens>> pairs;
  auto isDir = [](const std::string &p) {
    struct stat sb;
    return ::stat(p.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode);
  };
  bool handbook = isDir(o.corpus + "/en-US") && isDir(o.corpus + "/fr-FR");
  d2lrt::HandbookStats hs;
  std::string err = handbook ? d2lrt::loadHandbookPairs(o.corpus, pairs, &hs)
                             : d2lrt::loadMoPairs(o.corpus, steps - 1, pairs);
  if (!err.empty())
    fail(err + (o.corpus == kMoDir ? " (run scripts/setup.sh, which extracts "
                                     "Debian's libreoffice-l10n-fr there)"
                : o.corpus == kHandbookDir
                    ? " (run scripts/setup.sh, which extracts Debian's "
                      "debian-handbook there)"
                    : ""));
  if (handbook)
    std::printf("debian-handbook: %lld chapter files (%lld left out: unequal "
                "paragraph counts), %lld paragraphs, %lld with as many "
                "sentences in English as in French; %zu sentence pairs (%lld "
                "untranslated and %lld with an empty token left out)\n",
                (long long)hs.files, (long long)hs.skippedFiles,
                (long long)hs.paragraphs, (long long)hs.aligned, pairs.size(),
                (long long)hs.untranslated, (long long)hs.emptyTokens);
  if (o.limit && int64_t(pairs.size()) > o.limit)
    pairs.resize(size_t(o.limit));
  std::vector<d2lrt::Tokens> src, tgt;
  for (auto &[e, f] : pairs) {
    src.push_back(e);
    tgt.push_back(f);
  }
  const std::vector<std::string> reserved{"<pad>", "<bos>", "<eos>"};
  d2lrt::Vocab sv = d2lrt::buildVocab(src, 2, reserved, srcSize);
  d2lrt::Vocab tv = d2lrt::buildVocab(tgt, 2, reserved, tgtSize);
  size_t srcAll = d2lrt::buildVocab(src, 2, reserved, INT64_MAX).tokens.size();
  size_t tgtAll = d2lrt::buildVocab(tgt, 2, reserved, INT64_MAX).tokens.size();
  std::vector<size_t> trainSet, heldOut;
  for (size_t i = 0; i < pairs.size(); ++i)
    (i % 10 == 9 ? heldOut : trainSet).push_back(i);
  if (int64_t(trainSet.size()) < batch)
    fail(o.corpus + ": " + std::to_string(trainSet.size()) +
         " training pairs are too few for one batch of " +
         std::to_string(batch));
  std::printf("%zu pairs (%zu to train, %zu held out); vocabularies %zu and "
              "%zu tokens (min_freq 2: %zu and %zu; the model's tables: %lld "
              "and %lld)\n",
              pairs.size(), trainSet.size(), heldOut.size(), sv.tokens.size(),
              tv.tokens.size(), srcAll, tgtAll, (long long)srcSize,
              (long long)tgtSize);
  size_t longer = 0;
  for (auto &[e, f] : pairs)
    longer += int64_t(e.size()) >= steps || int64_t(f.size()) >= steps;
  if (longer)
    std::printf("%zu pairs with a side of more than %lld tokens: truncated to "
                "%lld (truncate_pad)\n",
                longer, (long long)steps - 1, (long long)steps);
  const int64_t pad = 1, bos = 2, eos = 3;
  // truncate_pad(line + [<eos>], T, <pad>) and its valid length.
  auto fill = [&](const d2lrt::Tokens &line, const d2lrt::Vocab &v,
                  int64_t *row) {
    int64_t len = 0;
    for (const std::string &t : line)
      if (len < steps)
        row[len++] = v[t];
    if (len < steps)
      row[len++] = eos;
    for (int64_t k = len; k < steps; ++k)
      row[k] = pad;
    return len;
  };
  using d2lrt::DType;
  using d2lrt::HostTensor;
  HostTensor x = HostTensor::zeros(DType::I64, {batch, steps});
  HostTensor xlen = HostTensor::zeros(DType::I64, {batch});
  HostTensor dec = HostTensor::zeros(DType::I64, {batch, steps});
  HostTensor y = HostTensor::zeros(DType::I64, {steps * batch});
  HostTensor lr = HostTensor::zeros(DType::F32, {});
  lr.data<float>()[0] = float(o.lr);
  auto setSources = [&](const std::vector<size_t> &rows) {
    for (int64_t b = 0; b < batch; ++b)
      xlen.data<int64_t>()[b] =
          fill(src[rows[size_t(b)]], sv, x.data<int64_t>() + b * steps);
  };
  Progress progress = startRun(o, model);
  std::vector<EpochResult> history = progress.history;
  int64_t done = progress.steps;
  std::mt19937_64 rng(o.seed ^ 0x5eedULL);
  bool tty = ::isatty(2);
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    std::vector<size_t> order = trainSet;
    if (o.shuffle)
      std::shuffle(order.begin(), order.end(), rng);
    if (epoch < progress.firstEpoch)
      continue;
    int64_t batches = int64_t(order.size()) / batch;
    double lossSum = 0, tokens = 0;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t bi = 0; bi < batches; ++bi) {
      std::vector<size_t> rows(order.begin() + bi * batch,
                               order.begin() + (bi + 1) * batch);
      setSources(rows);
      std::vector<int64_t> yrow(static_cast<size_t>(steps));
      int64_t *pd = dec.data<int64_t>(), *py = y.data<int64_t>();
      for (int64_t b = 0; b < batch; ++b) {
        int64_t len = fill(tgt[rows[size_t(b)]], tv, yrow.data());
        tokens += double(len);
        pd[b * steps] = bos;
        for (int64_t t = 0; t < steps; ++t) {
          if (t + 1 < steps)
            pd[b * steps + t + 1] = yrow[size_t(t)];
          py[t * batch + b] = t < len ? yrow[size_t(t)] : -1;
        }
      }
      d2lrt::TensorFile in;
      in.set("X", x);
      in.set("X_valid_len", xlen);
      in.set("dec_X", dec);
      in.set("labels", y);
      in.set("lr", lr);
      double loss = runTrainStep(model, in, hasSeed, o, done++, epoch, bi);
      // The step's loss is the mean over the B T positions; the book's
      // metric is the sum over the valid ones per token.
      lossSum += loss * double(batch * steps);
      if (tty)
        std::fprintf(stderr, "\repoch %d/%d %lld/%lld loss %.3f", epoch + 1,
                     o.epochs, (long long)(bi + 1), (long long)batches,
                     lossSum / tokens);
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (tty)
      std::fprintf(stderr, "\r%*s\r", 60, "");
    EpochResult r{lossSum / tokens, -1, -1, tokens / seconds};
    history.push_back(r);
    std::printf("epoch %d: loss %.3f\n", epoch + 1, r.loss);
    std::printf("%.1f tokens/sec on %s\n", r.examplesPerSecond,
                model.deviceName().c_str());
    std::fflush(stdout);
    saveEpoch(o, model, epoch, done, history);
  }

  // predict_seq2seq on the held-out pairs, B at a time (the last batch
  // filled up with its first pair), and bleu(translation, target, k=2).
  const d2lrt::BindingSpec *logitsResult = nullptr;
  for (const d2lrt::BindingSpec &r :
       model.manifest().entry("eval_step")->results)
    if (r.kind == d2lrt::BufferKind::Output && r.name != "loss")
      logitsResult = &r;
  if (!logitsResult)
    fail(o.model + ": @eval_step returns no logits");
  std::fill(y.data<int64_t>(), y.data<int64_t>() + y.numel(), -1);
  double bleuSum = 0;
  int64_t shown = 0;
  for (size_t first = 0; first < heldOut.size(); first += size_t(batch)) {
    std::vector<size_t> rows;
    for (int64_t b = 0; b < batch; ++b)
      rows.push_back(heldOut[std::min(first + size_t(b), heldOut.size() - 1)]);
    setSources(rows);
    int64_t *pd = dec.data<int64_t>();
    std::fill(pd, pd + dec.numel(), pad);
    std::vector<d2lrt::Tokens> out(static_cast<size_t>(batch));
    std::vector<bool> finished(static_cast<size_t>(batch), false);
    for (int64_t b = 0; b < batch; ++b)
      pd[b * steps] = bos;
    for (int64_t t = 0; t < steps; ++t) {
      d2lrt::TensorFile in;
      in.set("X", x);
      in.set("X_valid_len", xlen);
      in.set("dec_X", dec);
      in.set("labels", y);
      d2lrt::TensorFile res = model.run("eval_step", in);
      const HostTensor *logits = res.find(logitsResult->name);
      int64_t vocab = logits->shape.at(1);
      // Rows of a table larger than the vocabulary are no token: the argmax
      // is over the vocabulary's (the book's model has exactly those).
      int64_t tokens = std::min<int64_t>(vocab, int64_t(tv.tokens.size()));
      for (int64_t b = 0; b < batch; ++b) {
        if (finished[size_t(b)])
          continue;
        const float *row = logits->data<float>() + (t * batch + b) * vocab;
        int64_t tok = int64_t(std::max_element(row, row + tokens) - row);
        if (tok == eos) {
          finished[size_t(b)] = true;
          continue;
        }
        out[size_t(b)].push_back(tv.tokens[size_t(tok)]);
        if (t + 1 < steps)
          pd[b * steps + t + 1] = tok;
      }
    }
    for (int64_t b = 0; b < batch && first + size_t(b) < heldOut.size(); ++b) {
      const auto &[en, fr] = pairs[rows[size_t(b)]];
      std::string translation;
      for (const std::string &w : out[size_t(b)])
        translation += (translation.empty() ? "" : " ") + w;
      double score = d2lrt::bleu(d2lrt::splitSpaces(translation), fr, /*k=*/2);
      bleuSum += score;
      if (shown++ < 8) {
        std::string e, f;
        for (const std::string &w : en)
          e += (e.empty() ? "" : " ") + w;
        for (const std::string &w : fr)
          f += (f.empty() ? "" : " ") + w;
        std::printf("%s => %s, bleu %.3f (reference: %s)\n", e.c_str(),
                    translation.c_str(), score, f.c_str());
      }
    }
  }
  if (!heldOut.empty())
    std::printf("held-out BLEU (k=2, mean over %zu pairs): %.3f\n",
                heldOut.size(), bleuSum / double(heldOut.size()));
  return 0;
}

int train(Options o) {
  d2lrt::Options ro;
  ro.device = o.backend == "cuda" ? d2lrt::Device::Cuda : d2lrt::Device::Host;
  if (o.backend != "host" && o.backend != "cuda")
    fail("unknown --backend '" + o.backend + "' (host or cuda)");
  ro.threads = o.threads;
  d2lrt::Model model(o.model, ro);
  const d2lrt::EntrySpec *step = model.manifest().entry("train_step");
  const d2lrt::EntrySpec *eval = model.manifest().entry("eval_step");
  if (!step || !eval)
    fail(o.model + " has no @train_step and @eval_step: compile it with "
                   "d2lc --train");
  // A language model takes one-hot characters X [T, B, V] and a `state`.
  bool lm = false;
  for (const d2lrt::BindingSpec &a : step->arguments)
    lm |=
        a.name == "state" && step->buffers[size_t(a.buffer)].shape.size() == 3;
  if (!o.task.empty() && o.task != "lm" && o.task != "classify" &&
      o.task != "segment" && o.task != "seq2seq")
    fail("unknown --task '" + o.task + "' (classify, segment, lm or seq2seq)");
  // A translation model takes source and decoder-input token indices.
  bool seq2seq = false;
  for (const d2lrt::BindingSpec &a : step->arguments)
    seq2seq |= a.name == "dec_X";
  if (!o.task.empty() && (o.task == "seq2seq") != seq2seq)
    fail("--task " + o.task + " but " + o.model + " is " +
         (seq2seq ? "a translation model (X, X_valid_len, dec_X)"
                  : "not a translation model"));
  if (o.heldOut > 0 && !lm)
    fail("--held-out is for a language model; " + o.model + " is not one");
  if (seq2seq) {
    o.task = "seq2seq";
    if (!o.corpusSet)
      o.corpus = kMoDir;
    return trainSeq2Seq(o, model, step);
  }
  if (!o.task.empty() && (o.task == "lm") != lm)
    fail(
        "--task " + o.task + " but " + o.model + " is " +
        (lm ? "a language model (X [T, B, V] and a state)" : "an image model"));
  if (lm) {
    o.task = "lm";
    return trainLanguageModel(o, model, step);
  }
  // The compiled batch and image size.
  const d2lrt::BufferSpec *xb = nullptr, *yb = nullptr;
  bool hasSeed = false, hasLogits = false;
  for (const d2lrt::BindingSpec &a : step->arguments) {
    if (a.name == "X")
      xb = &step->buffers[size_t(a.buffer)];
    if (a.name == "labels")
      yb = &step->buffers[size_t(a.buffer)];
    hasSeed |= a.name == "seed";
  }
  std::string logitsName;
  int64_t classes = 0;
  for (const d2lrt::BindingSpec &r : step->results)
    if (r.kind == d2lrt::BufferKind::Output && r.name != "loss" &&
        r.name.rfind("grad.", 0) != 0) {
      hasLogits = true;
      logitsName = r.name;
      const std::vector<int64_t> &shape = step->buffers[size_t(r.buffer)].shape;
      classes = shape.size() >= 2 ? shape[1] : 0;
    }
  if (!xb || xb->shape.size() != 4 || xb->shape[1] != 1 ||
      xb->shape[2] != xb->shape[3])
    fail(o.model + ": @train_step needs an input X of shape [N, 1, S, S] "
                   "(images)");
  if (!hasLogits)
    fail(o.model + ": @train_step does not return the logits: compile it "
                   "with a d2lc that emits them (d2lc --train)");
  int64_t n = xb->shape[0], size = xb->shape[2];
  // Classification (labels [N]) or segmentation (labels [N, S, S]: the
  // classes are the items and the background, the last class).
  const bool perPixel = yb && yb->shape.size() == 3;
  if (!yb || !(yb->shape == std::vector<int64_t>{n} ||
               yb->shape == std::vector<int64_t>{n, size, size}))
    fail(o.model + ": @train_step needs labels of shape [" + std::to_string(n) +
         "] (classes) or [" + std::to_string(n) + ", " + std::to_string(size) +
         ", " + std::to_string(size) + "] (a class per pixel)");
  if (classes < (perPixel ? 11 : 10))
    fail(o.model + " predicts " + std::to_string(classes) +
         " classes; Fashion-MNIST has 10" +
         (perPixel ? " and segmentation adds the background" : ""));
  const int64_t positions = perPixel ? size * size : 1; // labels per row
  const int64_t background = classes - 1;
  if (o.batch && o.batch != n)
    fail("--batch " + std::to_string(o.batch) + " but " + o.model +
         " was compiled for batch " + std::to_string(n) +
         " (recompile with d2lc --batch " + std::to_string(o.batch) + ")");
  if (o.resize && o.resize != size)
    fail("--resize " + std::to_string(o.resize) + " but " + o.model +
         " takes " + std::to_string(size) + "x" + std::to_string(size) +
         " images");
  if (size != 28 && !o.resize)
    fail(o.model + " takes " + std::to_string(size) + "x" +
         std::to_string(size) + " images: pass --resize " +
         std::to_string(size));

  std::string dir =
      o.data == "fashion-mnist" ? std::string(d2lrt::kFashionMnistDir) : o.data;
  Split trainSet = loadSplit(dir, true, o.limit);
  Split testSet = loadSplit(dir, false, o.testLimit);

  Progress progress = startRun(o, model);
  int firstEpoch = progress.firstEpoch;
  int64_t steps = progress.steps;
  std::vector<EpochResult> history = progress.history;

  bool tty = ::isatty(2);
  std::mt19937_64 rng(o.seed ^ 0x5eedULL);
  for (int e = 0; e < firstEpoch && o.shuffle; ++e) { // earlier epochs'
    std::vector<int64_t> skipped(size_t(trainSet.n));
    std::shuffle(skipped.begin(), skipped.end(), rng);
  }
  d2lrt::HostTensor x =
      d2lrt::HostTensor::zeros(d2lrt::DType::F32, {n, 1, size, size});
  d2lrt::HostTensor y = d2lrt::HostTensor::zeros(d2lrt::DType::I64, yb->shape);
  for (int epoch = firstEpoch; epoch < o.epochs; ++epoch) {
    std::vector<int64_t> order(size_t(trainSet.n));
    std::iota(order.begin(), order.end(), 0);
    if (o.shuffle)
      std::shuffle(order.begin(), order.end(), rng);
    double lossSum = 0;
    int64_t right = 0, seen = 0;
    int64_t batches = (trainSet.n + n - 1) / n;
    auto t0 = std::chrono::steady_clock::now();
    for (int64_t bi = 0; bi < batches; ++bi) {
      int64_t rows = std::min(n, trainSet.n - bi * n);
      fillBatch(trainSet, order, bi * n, n, size, background, x, y);
      d2lrt::TensorFile in;
      in.set("X", x);
      in.set("labels", y);
      d2lrt::HostTensor lr = d2lrt::HostTensor::zeros(d2lrt::DType::F32, {});
      // The loss is a mean over all N rows; scale so the step is the mean
      // over the real ones.
      lr.data<float>()[0] = float(o.lr * double(n) / double(rows));
      in.set("lr", lr);
      d2lrt::TensorFile out;
      double loss =
          runTrainStep(model, in, hasSeed, o, steps++, epoch, bi, &out);
      lossSum += loss * double(n); // the sum over the real rows
      right += correct(*out.find(logitsName), y);
      seen += rows;
      if (tty) {
        int width = 30, done = int(width * (bi + 1) / batches);
        std::fprintf(
            stderr, "\repoch %d/%d [%s%s] %lld/%lld loss %.3f", epoch + 1,
            o.epochs, std::string(size_t(done), '=').c_str(),
            std::string(size_t(width - done), ' ').c_str(), (long long)seen,
            (long long)trainSet.n, lossSum / double(seen));
      }
    }
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    if (tty)
      std::fprintf(stderr, "\r%*s\r", 80, "");
    // Test accuracy with @eval_step (inference mode).
    std::vector<int64_t> testOrder(size_t(testSet.n));
    std::iota(testOrder.begin(), testOrder.end(), 0);
    int64_t testRight = 0;
    for (int64_t b = 0; b < testSet.n; b += n) {
      fillBatch(testSet, testOrder, b, n, size, background, x, y);
      d2lrt::TensorFile in;
      in.set("X", x);
      in.set("labels", y);
      d2lrt::TensorFile out = model.run("eval_step", in);
      const d2lrt::HostTensor *logits = out.find(logitsName);
      if (!logits)
        fail(o.model + ": @eval_step does not return '" + logitsName + "'");
      testRight += correct(*logits, y);
    }
    // Accuracies per label: per example, or per pixel for segmentation.
    EpochResult r{lossSum / double(seen),
                  double(right) / double(seen * positions),
                  double(testRight) / double(testSet.n * positions),
                  double(seen) / seconds};
    history.push_back(r);
    std::printf("epoch %d: loss %.3f, train acc %.3f, test acc %.3f%s\n",
                epoch + 1, r.loss, r.trainAcc, r.testAcc,
                perPixel ? " (per pixel)" : "");
    std::printf("%.1f examples/sec on %s\n", r.examplesPerSecond,
                model.deviceName().c_str());
    std::fflush(stdout);

    saveEpoch(o, model, epoch, steps, history);
  }
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char * {
      return i + 1 < argc ? argv[++i] : nullptr;
    };
    auto number = [&](const char *v, double &out) {
      char *end = nullptr;
      out = v ? std::strtod(v, &end) : 0;
      return v && end && *end == '\0';
    };
    const char *v = nullptr;
    double d = 0;
    if (a == "--data" && (v = value()))
      o.data = v;
    else if (a == "--backend" && (v = value()))
      o.backend = v;
    else if (a == "--checkpoint" && (v = value()))
      o.checkpoint = v;
    else if (a == "--resume" && (v = value()))
      o.resume = v;
    else if (a == "--plot" && (v = value()))
      o.plot = v;
    else if (a == "--no-shuffle")
      o.shuffle = false;
    else if (a == "--corpus" && (v = value())) {
      o.corpus = std::string(v) == "handbook" ? kHandbookDir : v;
      o.corpusSet = true;
    } else if (a == "--prefix" && (v = value()))
      o.prefix = v;
    else if (a == "--task" && (v = value()))
      o.task = v;
    else if (a == "--epochs" && number(value(), d) && d >= 1)
      o.epochs = int(d);
    else if (a == "--lr" && number(value(), d) && d > 0)
      o.lr = d;
    else if (a == "--batch" && number(value(), d) && d >= 1)
      o.batch = int64_t(d);
    else if (a == "--resize" && number(value(), d) && d >= 1)
      o.resize = int64_t(d);
    else if (a == "--limit" && number(value(), d) && d >= 1)
      o.limit = int64_t(d);
    else if (a == "--test-limit" && number(value(), d) && d >= 1)
      o.testLimit = int64_t(d);
    else if (a == "--held-out" && number(value(), d) && d >= 0 && d < 1)
      o.heldOut = d;
    else if (a == "--seed" && number(value(), d) && d >= 0)
      o.seed = uint64_t(d);
    else if (a == "--host-threads" && number(value(), d) && d >= 0)
      o.threads = unsigned(d);
    else if (!a.empty() && a[0] != '-' && o.model.empty())
      o.model = a;
    else
      return usage();
  }
  if (o.model.empty())
    return usage();
  try {
    return train(o);
  } catch (const d2lrt::Error &e) {
    std::fprintf(stderr, "d2lc-train: error: %s\n", e.what());
    return 1;
  }
}
