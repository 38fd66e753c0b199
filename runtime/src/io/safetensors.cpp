// safetensors writer and validating reader.
#include "io/safetensors.h"

#include "core/internal.h"

#include <cstring>

namespace pzrt {

int writeSafetensors(const std::string &path, const std::vector<StTensor> &tensors,
                     const std::vector<std::pair<std::string, std::string>> &metadata) {
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
  uint64_t offset = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const StTensor &t = tensors[i];
    uint64_t bytes = pzrt_dtype_size(t.dtype);
    for (int64_t d : t.shape)
      bytes *= static_cast<uint64_t>(d);
    if (i || !metadata.empty())
      header += ',';
    json::appendString(header, t.name);
    header += ":{\"dtype\":\"";
    header += pzrt_dtype_name(t.dtype);
    header += "\",\"shape\":[";
    for (size_t d = 0; d < t.shape.size(); ++d)
      header += (d ? "," : "") + std::to_string(t.shape[d]);
    header += "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + bytes) + "]}";
    offset += bytes;
  }
  header += '}';
  while (header.size() % 8 != 0)
    header += ' ';
  std::string buf;
  buf.reserve(8 + header.size() + offset);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    buf += static_cast<char>((n >> (8 * i)) & 0xff);
  buf += header;
  for (const StTensor &t : tensors) {
    uint64_t bytes = pzrt_dtype_size(t.dtype);
    for (int64_t d : t.shape)
      bytes *= static_cast<uint64_t>(d);
    if (bytes)
      buf.append(static_cast<const char *>(t.data), bytes);
  }
  return writeFileDurable(path, buf.data(), buf.size());
}

const StTensor *StFile::find(const std::string &name) const {
  for (const StTensor &t : tensors)
    if (t.name == name)
      return &t;
  return nullptr;
}

int readSafetensors(const std::string &path, StFile &out) {
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
    unsigned __int128 bytes = pzrt_dtype_size(t.dtype);
    for (const json::Value &d : sh->items()) {
      if (!d.isInt() || d.asInt() < 0)
        return fail("'%s': tensor '%s' has a shape entry that is not a non-negative integer",
                    path.c_str(), name.c_str());
      t.shape.push_back(d.asInt());
      bytes *= static_cast<uint64_t>(d.asInt());
      if (bytes > dataSize)
        bytes = static_cast<unsigned __int128>(dataSize) + 1; // clamp; reported below
    }
    if (!(*off)[0].isInt() || !(*off)[1].isInt() || (*off)[0].asInt() < 0 ||
        (*off)[1].asInt() < (*off)[0].asInt())
      return fail("'%s': tensor '%s' has invalid data_offsets", path.c_str(), name.c_str());
    t.begin = static_cast<uint64_t>((*off)[0].asInt());
    t.end = static_cast<uint64_t>((*off)[1].asInt());
    if (t.end > dataSize)
      return fail("'%s': tensor '%s' data_offsets [%llu, %llu] run past the %llu-byte data "
                  "section (file bytes %llu..%zu)",
                  path.c_str(), name.c_str(), static_cast<unsigned long long>(t.begin),
                  static_cast<unsigned long long>(t.end), static_cast<unsigned long long>(dataSize),
                  static_cast<unsigned long long>(8 + n), size);
    if (t.end - t.begin != bytes)
      return fail("'%s': tensor '%s' data_offsets span %llu bytes but dtype %s and its shape need "
                  "%llu",
                  path.c_str(), name.c_str(), static_cast<unsigned long long>(t.end - t.begin),
                  pzrt_dtype_name(t.dtype), static_cast<unsigned long long>(bytes));
    out.tensors.push_back(std::move(t));
  }
  return 0;
}

} // namespace pzrt
