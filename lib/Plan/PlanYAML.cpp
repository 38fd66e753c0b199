//===- PlanYAML.cpp - plan.yaml reading and writing -----------------------===//
//
// A plan file is one YAML document: a flat mapping of plan keys to scalar
// values. It is read with LLVM's YAML parser node by node, in one pass that
// records each key's line and column, so reading is linear in the file and
// every value error can name its key; the value rules are setPlanKey's and
// validatePlan's.
//
// The parser builds collections lazily and only its `skip` recurses into
// them. A plan never needs a collection as a key or a value, so the walk
// visits one only to report it, with its own depth bound (kMaxNestingDepth),
// and never hands it to `skip`: a file of 25,000 `[` is an error at its
// line and column, not a stack overflow. Document markers are checked on the
// text first (YAML requires them at the start of a line, where no scalar can
// hide them), so that a second document is an error before parsing.
//
//===----------------------------------------------------------------------===//

#include "pz/Plan/Plan.h"
#include "pz/Support/Limits.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/YAMLParser.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir::pz;
using llvm::StringRef;
namespace yaml = llvm::yaml;

namespace {
/// The first problem with the document structure of `text`: a second
/// document (`---` after content or after another `---`, or content after
/// `...`). Returns the offset of the offending line, or npos.
size_t findSecondDocument(StringRef text) {
  bool started = false, content = false, ended = false;
  size_t offset = 0;
  while (offset < text.size()) {
    size_t eol = text.find('\n', offset);
    StringRef line = text.slice(offset, eol == StringRef::npos ? text.size() : eol);
    auto isMarker = [&](StringRef m) {
      return line.starts_with(m) &&
             (line.size() == 3 || line[3] == ' ' || line[3] == '\t' ||
              line[3] == '\r');
    };
    StringRef rest = line.ltrim(" \t\r");
    bool blank = rest.empty() || rest.starts_with("#");
    if (isMarker("---")) {
      if (started || content || ended)
        return offset;
      started = true;
      StringRef after = line.drop_front(3).ltrim(" \t\r");
      content = !after.empty() && !after.starts_with("#");
    } else if (isMarker("...")) {
      ended = true;
    } else if (!blank) {
      bool directive = line.starts_with("%") && !started && !content;
      if (ended)
        return offset;
      if (!directive)
        content = true;
    }
    if (eol == StringRef::npos)
      break;
    offset = eol + 1;
  }
  return StringRef::npos;
}

StringRef kindName(yaml::Node *n) {
  if (llvm::isa<yaml::SequenceNode>(n))
    return "a sequence";
  if (llvm::isa<yaml::MappingNode>(n))
    return "a mapping";
  if (llvm::isa<yaml::AliasNode>(n))
    return "an alias";
  return "a value";
}

/// One pass over the document: values and key locations, and the errors
/// with their locations, the first kMaxPlanErrors of them in full.
class PlanReader {
public:
  PlanReader(StringRef text, StringRef fileName)
      : text(text), fileName(fileName) {}

  llvm::Expected<Plan> read();

private:
  struct Value {
    std::string text;
    std::string loc; // "LINE:COL"
    /// The items of a list key given as a sequence.
    std::optional<std::vector<std::string>> items;
  };

  /// LINE:COL of a pointer into the text; one outside it (a node's range
  /// can lie past the buffer) is taken as the end of the text.
  std::string locOf(const char *ptr) {
    if (!ptr || ptr < text.begin() || ptr > text.end())
      ptr = text.end();
    auto lc = sm.getLineAndColumn(llvm::SMLoc::getFromPointer(ptr));
    return llvm::formatv("{0}:{1}", lc.first, lc.second).str();
  }
  std::string locOf(yaml::Node *n) {
    // An alias node's range starts at the token after it; its name (after
    // the '*') lies in the text.
    if (auto *alias = llvm::dyn_cast<yaml::AliasNode>(n))
      if (!alias->getName().empty())
        return locOf(alias->getName().data() - 1);
    return locOf(n->getSourceRange().Start.getPointer());
  }
  void error(StringRef loc, const llvm::Twine &msg) {
    if (errors.size() < kMaxPlanErrors)
      errors.push_back(
          (fileName + (loc.empty() ? "" : ":") + loc + ": " + msg).str());
    else
      ++moreErrors;
  }
  /// Visits a collection the plan does not accept, only to report syntax
  /// errors inside it; refuses nesting deeper than kMaxNestingDepth.
  /// Returns false when it stopped early (the caller stops too).
  bool visit(yaml::Node *n, unsigned depth);
  /// The text of a scalar (null: empty), or nullopt after reporting.
  std::optional<std::string> scalarOf(yaml::Node *n, StringRef what,
                                      unsigned depth = 1);
  /// The scalar items of a list key's sequence, or nullopt after reporting.
  std::optional<std::vector<std::string>> itemsOf(yaml::SequenceNode *seq,
                                                  StringRef key);
  llvm::Error failure();

  StringRef text, fileName;
  llvm::SourceMgr sm;
  std::string diagText;
  std::vector<std::string> errors;
  size_t moreErrors = 0;
};
} // namespace

bool PlanReader::visit(yaml::Node *n, unsigned depth) {
  if (depth > kMaxNestingDepth) {
    error(locOf(n), llvm::formatv("nested deeper than {0} levels",
                                  kMaxNestingDepth));
    return false;
  }
  if (auto *seq = llvm::dyn_cast<yaml::SequenceNode>(n)) {
    for (yaml::Node &item : *seq)
      if (!visit(&item, depth + 1))
        return false;
    return true;
  }
  if (auto *map = llvm::dyn_cast<yaml::MappingNode>(n)) {
    for (yaml::KeyValueNode &kv : *map) {
      yaml::Node *key = kv.getKey();
      if (key && !visit(key, depth + 1))
        return false;
      yaml::Node *value = kv.getValue();
      if (value && !visit(value, depth + 1))
        return false;
    }
  }
  return true;
}

std::optional<std::string> PlanReader::scalarOf(yaml::Node *n, StringRef what,
                                                unsigned depth) {
  llvm::SmallString<64> storage;
  if (auto *s = llvm::dyn_cast<yaml::ScalarNode>(n))
    return s->getValue(storage).str();
  if (auto *b = llvm::dyn_cast<yaml::BlockScalarNode>(n))
    return b->getValue().str();
  if (llvm::isa<yaml::NullNode>(n))
    return std::string();
  std::string loc = locOf(n);
  if (visit(n, depth))
    error(loc, what + " must be a single value, got " + kindName(n));
  return std::nullopt;
}

std::optional<std::vector<std::string>>
PlanReader::itemsOf(yaml::SequenceNode *seq, StringRef key) {
  std::vector<std::string> items;
  for (yaml::Node &item : *seq) {
    std::optional<std::string> text =
        scalarOf(&item, "an item of plan key '" + key.str() + "'", 2);
    if (!text)
      return std::nullopt;
    items.push_back(std::move(*text));
  }
  return items;
}

llvm::Error PlanReader::failure() {
  std::string msg;
  for (StringRef line : llvm::split(StringRef(diagText).trim(), '\n'))
    if (!line.empty())
      msg += (msg.empty() ? "" : "\n") + (fileName + ":" + line).str();
  if (!msg.empty())
    return llvm::createStringError(msg); // the parser's errors come first
  for (const std::string &e : errors)
    msg += (msg.empty() ? "" : "\n") + e;
  if (moreErrors)
    msg += llvm::formatv("\n{0}: ... and {1} more error{2}", fileName,
                         moreErrors, moreErrors == 1 ? "" : "s")
               .str();
  if (msg.empty())
    msg = (fileName + ": not a YAML mapping of plan keys").str();
  return llvm::createStringError(msg);
}

llvm::Expected<Plan> PlanReader::read() {
  if (text.trim().empty())
    return llvm::createStringError(
        llvm::formatv("{0}: the plan is empty; write keys such as 'tp: 2'",
                      fileName));
  llvm::raw_string_ostream diagOS(diagText);
  sm.setDiagHandler(
      [](const llvm::SMDiagnostic &d, void *ctx) {
        auto &os = *static_cast<llvm::raw_string_ostream *>(ctx);
        os << d.getLineNo() << ":" << (d.getColumnNo() + 1) << ": "
           << d.getMessage() << "\n";
      },
      &diagOS);
  yaml::Stream stream(text, sm, /*ShowColors=*/false);
  size_t second = findSecondDocument(text);
  if (second != StringRef::npos) {
    error(locOf(text.data() + second),
          "a second YAML document; a plan file holds one document");
    return failure();
  }

  // Only the first document: advancing the stream would `skip` it.
  yaml::Document &doc = *stream.begin();
  yaml::Node *root = doc.getRoot();
  auto *map = llvm::dyn_cast_or_null<yaml::MappingNode>(root);
  if (!map) {
    if (root && !llvm::isa<yaml::NullNode>(root) && visit(root, 1) &&
        !stream.failed())
      error(locOf(root), "the plan must be a mapping of plan keys to values, "
                         "got " + kindName(root));
    return failure();
  }

  llvm::StringMap<Value> values;
  std::vector<std::string> order; // keys in file order
  for (yaml::KeyValueNode &kv : *map) {
    if (stream.failed())
      break;
    yaml::Node *keyNode = kv.getKey();
    if (!keyNode)
      break; // the parser reported it
    std::string loc = locOf(keyNode);
    std::optional<std::string> key = scalarOf(keyNode, "a plan key");
    if (!key || stream.failed())
      break; // the walk cannot go on past a collection it did not skip
    yaml::Node *valueNode = kv.getValue();
    if (!valueNode)
      break;
    // A list key takes a sequence of scalars (or a scalar: its items
    // separated by commas, as on the command line).
    std::optional<std::vector<std::string>> items;
    auto *seq = llvm::dyn_cast<yaml::SequenceNode>(valueNode);
    if (seq && isListPlanKey(*key)) {
      items = itemsOf(seq, *key);
      if (!items)
        break;
    }
    std::optional<std::string> value =
        items ? std::optional<std::string>(std::string())
              : scalarOf(valueNode, "plan key '" + *key + "'");
    if (!value)
      break;
    auto [it, inserted] =
        values.try_emplace(*key, Value{*value, loc, std::move(items)});
    if (inserted)
      order.push_back(*key);
    else
      error(loc, "plan key '" + *key + "': given twice (first at " +
                     it->second.loc + ")");
  }
  if (stream.failed() || !errors.empty())
    return failure();

  Plan plan;
  auto locOfKey = [&](StringRef key) {
    auto it = values.find(key);
    return it == values.end() ? std::string() : it->second.loc;
  };
  if (values.count("grad_accum") && values.count("microbatches") &&
      values["grad_accum"].text != values["microbatches"].text)
    error(locOfKey("microbatches"),
          "plan key 'microbatches': is an alias of grad_accum and the two "
          "disagree");
  // Values in file order; unknown keys among them.
  for (const std::string &key : order) {
    const Value &value = values.find(key)->second;
    StringRef field = key == "microbatches" ? StringRef("grad_accum") : key;
    if (key == "microbatches" && values.count("grad_accum"))
      continue; // the two agree (or disagree, reported above)
    if (value.items)
      setPlanList(plan, key, *value.items);
    else if (auto err = setPlanKey(plan, field, value.text))
      error(value.loc, "plan key '" + key + "': " + err->message);
  }
  if (errors.empty())
    for (const PlanError &e : validatePlan(plan)) {
      std::string key = e.key;
      if (key == "grad_accum" && !values.count(key) && values.count("microbatches"))
        key = "microbatches";
      error(locOfKey(key), "plan key '" + key + "': " + e.message);
    }
  if (!errors.empty() || moreErrors)
    return failure();
  return plan;
}

llvm::Expected<Plan> mlir::pz::parsePlanYAML(StringRef text,
                                             StringRef fileName) {
  return PlanReader(text, fileName).read();
}

namespace {
/// A flow-sequence item as YAML reads it back: plain when it is a name made
/// of letters, digits and `_ . - /` that starts with a letter, a digit or
/// `_` (no indicator, no `~`, no `[],{}` and no comment), otherwise
/// double-quoted with escapes.
void printItem(llvm::raw_ostream &os, StringRef item) {
  auto plainChar = [](char c) {
    return llvm::isAlnum(c) || c == '_' || c == '.' || c == '-' || c == '/';
  };
  if (!item.empty() && (llvm::isAlnum(item[0]) || item[0] == '_') &&
      llvm::all_of(item, plainChar)) {
    os << item;
    return;
  }
  os << '"';
  for (unsigned char c : item) {
    if (c == '"' || c == '\\')
      os << '\\' << c;
    else if (c < 0x20 || c == 0x7f)
      os << llvm::format("\\x%02x", c);
    else
      os << c;
  }
  os << '"';
}
} // namespace

std::string mlir::pz::printPlanYAML(const Plan &plan) {
  std::string out;
  llvm::raw_string_ostream os(out);
  auto printList = [&](llvm::ArrayRef<std::string> items) {
    os << "[";
    for (auto [i, name] : llvm::enumerate(items)) {
      os << (i ? ", " : "");
      printItem(os, name);
    }
    os << "]\n";
  };
  for (StringRef key : planKeys()) {
    os << key << ": ";
    if (key == "stage_boundaries")
      printList(plan.stageBoundaries);
    else if (key == "recompute" && plan.recompute == Recompute::Layers)
      printList(plan.recomputeLayers);
    else
      os << getPlanKey(plan, key) << "\n";
  }
  return out;
}
