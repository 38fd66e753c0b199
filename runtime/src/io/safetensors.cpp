// safetensors writer and validating reader.
#include "io/safetensors.h"

#include "core/checked.h"
#include "core/internal.h"
#include "io/crc32c.h"

#include <algorithm>

#include <cstring>

namespace pzrt {

int writeSafetensors(const std::string &path, const std::vector<StTensor> &tensors,
                     const std::vector<std::pair<std::string, std::string>> &metadata,
                     uint32_t *crc, uint64_t *fileBytes) {
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    for (size_t i = 0; i < metadata.size(); ++i) {
      if (i)
        header += ',';
      json::appendString(header, metadata[i].first);
      header += ':';
      json::appendString(header, metadata[i].second);
    }
    header += '}';
  }
  int64_t offset = 0;
  std::vector<int64_t> sizes;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const StTensor &t = tensors[i];
    int64_t bytes = 0;
    if (!checkedBytes(t.shape.data(), t.shape.size(), pzrt_dtype_size(t.dtype), bytes) ||
        !checkedAdd(offset, bytes, offset))
      return fail("'%s': tensor '%s' of shape %zu-d is too large to write", path.c_str(),
                  t.name.c_str(), t.shape.size());
    sizes.push_back(bytes);
    if (i || !metadata.empty())
      header += ',';
    json::appendString(header, t.name);
    header += ":{\"dtype\":\"";
    header += pzrt_dtype_name(t.dtype);
    header += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d)
      header += (d ? "," : "") + std::to_string(t.shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset - bytes) + "," +
              std::to_string(offset) + "]}";
  }
  header += '}';
  while (header.size() % 8 != 0)
    header += ' ';
  std::string buf;
  buf.reserve(8 + header.size() + static_cast<size_t>(offset));
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    buf += static_cast<char>((n >> (8 * i)) & 0xff);
  buf += header;
  for (size_t i = 0; i < tensors.size(); ++i)
    if (sizes[i])
      buf.append(static_cast<const char *>(tensors[i].data), static_cast<size_t>(sizes[i]));
  if (crc)
    *crc = crc32c(0, buf.data(), buf.size());
  if (fileBytes)
    *fileBytes = buf.size();
  return writeFileDurable(path, buf.data(), buf.size());
}

const StTensor *StFile::find(const std::string &name) const {
  for (const StTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

int readSafetensors(const std::string &path, StFile &out) {
  // The reference implementation's bound on the header.
  constexpr uint64_t kMaxHeader = 100u << 20;
  if (out.file.open(path))
    return -1;
  const unsigned char *p = out.file.data();
  size_t size = out.file.size();
  if (size < 8)
    return fail("'%s': not a safetensors file: %zu bytes, shorter than the 8-byte header length",
                path.c_str(), size);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i)
    n = (n << 8) | p[i];
  if (n > size - 8)
    return fail("'%s': safetensors header length %llu (bytes 0-7) runs past the end of the "
                "%zu-byte file",
                path.c_str(), static_cast<unsigned long long>(n), size);
  if (n > kMaxHeader)
    return fail("'%s': safetensors header length %llu (bytes 0-7) exceeds the format's limit of "
                "%llu bytes",
                path.c_str(), static_cast<unsigned long long>(n),
                static_cast<unsigned long long>(kMaxHeader));
  std::string err;
  json::Value h;
  if (!json::parse(std::string_view(reinterpret_cast<const char *>(p + 8), n), h, err))
    return fail("'%s': safetensors header is not valid JSON: %s (relative to the header, which "
                "starts at byte 8)",
                path.c_str(), err.c_str());
  if (!h.isObject())
    return fail("'%s': safetensors header (byte 8) is not a JSON object", path.c_str());
  out.dataStart = p + 8 + n;
  uint64_t dataSize = size - 8 - n;
  out.metadata = json::Value::object();
  for (const auto &m : h.members()) {
    const std::string &name = m.first;
    const json::Value &v = m.second;
    if (name == "__metadata__") {
      if (!v.isObject())
        return fail("'%s': __metadata__ is not an object", path.c_str());
      for (const auto &kv : v.members())
        if (!kv.second.isString())
          return fail("'%s': __metadata__ value '%s' is not a string", path.c_str(),
                      kv.first.c_str());
      out.metadata = v;
      continue;
    }
    if (name.empty() || name.find('\0') != std::string::npos)
      return fail("'%s': tensor name %s is empty or holds a NUL character", path.c_str(),
                  json::dump(json::Value(name)).c_str());
    const json::Value *dt = v.isObject() ? v.find("dtype") : nullptr;
    const json::Value *sh = v.isObject() ? v.find("shape") : nullptr;
    const json::Value *off = v.isObject() ? v.find("data_offsets") : nullptr;
    if (!dt || !sh || !off || !dt->isString() || !sh->isArray() || !off->isArray() ||
        off->size() != 2)
      return fail("'%s': tensor '%s' needs \"dtype\" (string), \"shape\" (array) and "
                  "\"data_offsets\" ([begin, end])",
                  path.c_str(), name.c_str());
    StTensor t;
    t.name = name;
    if (pzrt_dtype_from_name(dt->asString().c_str(), &t.dtype))
      return fail("'%s': tensor '%s' has unsupported dtype '%s'", path.c_str(), name.c_str(),
                  dt->asString().c_str());
    for (const json::Value &d : sh->items()) {
      if (!d.isInt() || d.asInt() < 0)
        return fail("'%s': tensor '%s' has a shape entry that is not a non-negative integer",
                    path.c_str(), name.c_str());
      t.shape.push_back(d.asInt());
    }
    int64_t bytes = 0;
    if (!checkedBytes(t.shape.data(), t.shape.size(), pzrt_dtype_size(t.dtype), bytes))
      return fail("'%s': tensor '%s' has a shape whose size in bytes overflows (more than 2^62)",
                  path.c_str(), name.c_str());
    if (!(*off)[0].isInt() || !(*off)[1].isInt() || (*off)[0].asInt() < 0 ||
        (*off)[1].asInt() < (*off)[0].asInt())
      return fail("'%s': tensor '%s' has invalid data_offsets (two integers 0 <= begin <= end)",
                  path.c_str(), name.c_str());
    t.begin = static_cast<uint64_t>((*off)[0].asInt());
    t.end = static_cast<uint64_t>((*off)[1].asInt());
    if (t.end > dataSize)
      return fail("'%s': tensor '%s' data_offsets [%llu, %llu] run past the %llu-byte data "
                  "section (file bytes %llu..%zu)",
                  path.c_str(), name.c_str(), static_cast<unsigned long long>(t.begin),
                  static_cast<unsigned long long>(t.end), static_cast<unsigned long long>(dataSize),
                  static_cast<unsigned long long>(8 + n), size);
    if (t.end - t.begin != static_cast<uint64_t>(bytes))
      return fail("'%s': tensor '%s' data_offsets span %llu bytes but dtype %s and its shape need "
                  "%llu",
                  path.c_str(), name.c_str(), static_cast<unsigned long long>(t.end - t.begin),
                  pzrt_dtype_name(t.dtype), static_cast<unsigned long long>(bytes));
    out.tensors.push_back(std::move(t));
  }
  // The data must be covered exactly: in offset order, each tensor starts
  // where the previous one ends, and the last one ends at the end of the file.
  std::vector<const StTensor *> order;
  for (const StTensor &t : out.tensors)
    order.push_back(&t);
  std::stable_sort(order.begin(), order.end(), [](const StTensor *a, const StTensor *b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t expect = 0;
  const StTensor *prev = nullptr;
  for (const StTensor *t : order) {
    if (t->begin != expect) {
      std::string how = t->begin < expect
                            ? "overlap tensor '" + prev->name + "'"
                            : (prev ? "leave a gap after tensor '" + prev->name + "'"
                                    : std::string("leave a gap at the start of the data"));
      return fail("'%s': tensor '%s' data_offsets [%llu, %llu] %s; safetensors data must be "
                  "contiguous (each tensor starts where the previous one ends)",
                  path.c_str(), t->name.c_str(), static_cast<unsigned long long>(t->begin),
                  static_cast<unsigned long long>(t->end), how.c_str());
    }
    expect = t->end;
    prev = t;
  }
  if (expect != dataSize)
    return fail("'%s': the tensors' data ends at byte %llu of the %llu-byte data section; "
                "safetensors data must cover it exactly (the file has %llu trailing bytes)",
                path.c_str(), static_cast<unsigned long long>(expect),
                static_cast<unsigned long long>(dataSize),
                static_cast<unsigned long long>(dataSize - expect));
  return 0;
}

} // namespace pzrt
