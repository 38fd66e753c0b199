// Process grids: named axes over a communicator, last axis fastest.
#include "comm/comm_impl.h"
#include "core/internal.h"

#include <map>
#include <string>
#include <vector>

using pzrt::fail;

struct pzrt_grid {
  pzrt_comm *world = nullptr;
  std::vector<int> dims;
  std::vector<std::string> names;
  std::vector<int> coords;
  std::map<unsigned, pzrt_comm *> comms; // by axis mask

  ~pzrt_grid() {
    for (auto &kv : comms)
      delete kv.second;
  }

  // Color = linear index over the axes not in mask; key = over those in mask.
  pzrt_comm *make(unsigned mask) {
    long long color = 0, key = 0;
    std::string name;
    for (size_t a = 0; a < dims.size(); ++a) {
      if (mask & (1u << a)) {
        key = key * dims[a] + coords[a];
        name += (name.empty() ? "" : "+") + names[a];
      } else {
        color = color * dims[a] + coords[a];
      }
    }
    pzrt_comm *c = pzrt_comm_split(world, static_cast<int>(color), static_cast<int>(key),
                                   name.c_str());
    if (c)
      comms[mask] = c;
    return c;
  }
};

extern "C" {

pzrt_grid *pzrt_grid_create(pzrt_comm *world, int ndims, const int *dims,
                            const char *const *names) {
  if (!world) {
    fail("grid_create: communicator is NULL");
    return nullptr;
  }
  if (ndims < 1 || ndims > 16 || !dims) {
    fail("grid_create: ndims=%d must be between 1 and 16", ndims);
    return nullptr;
  }
  long long product = 1;
  std::string shape;
  for (int i = 0; i < ndims; ++i) {
    if (dims[i] < 1) {
      fail("grid_create: dimension %d has size %d; sizes must be >= 1", i, dims[i]);
      return nullptr;
    }
    shape += (i ? "x" : "") + std::to_string(dims[i]);
  }
  for (int i = 0; i < ndims && product <= world->size; ++i)
    product *= dims[i];
  if (product != world->size) {
    fail("grid_create: grid %s does not match the %d ranks of communicator '%s'", shape.c_str(),
         world->size, world->name.c_str());
    return nullptr;
  }
  auto *g = new pzrt_grid();
  g->world = world;
  g->dims.assign(dims, dims + ndims);
  int r = world->rank;
  g->coords.assign(static_cast<size_t>(ndims), 0);
  for (int i = ndims - 1; i >= 0; --i) {
    g->coords[static_cast<size_t>(i)] = r % dims[i];
    r /= dims[i];
  }
  for (int i = 0; i < ndims; ++i) {
    std::string n = names && names[i] ? names[i] : "axis" + std::to_string(i);
    for (auto &prev : g->names) {
      if (prev == n) {
        fail("grid_create: axis name '%s' appears twice", n.c_str());
        delete g;
        return nullptr;
      }
    }
    g->names.push_back(n);
  }
  for (int i = 0; i < ndims; ++i) {
    if (!g->make(1u << i)) {
      delete g;
      return nullptr;
    }
  }
  return g;
}

void pzrt_grid_destroy(pzrt_grid *grid) { delete grid; }

int pzrt_grid_ndims(const pzrt_grid *g) { return g ? static_cast<int>(g->dims.size()) : 0; }

int pzrt_grid_dim(const pzrt_grid *g, int axis) {
  if (!g || axis < 0 || axis >= static_cast<int>(g->dims.size()))
    return 0;
  return g->dims[static_cast<size_t>(axis)];
}

int pzrt_grid_axis_index(const pzrt_grid *g, const char *name) {
  if (!g || !name)
    return -1;
  for (size_t i = 0; i < g->names.size(); ++i)
    if (g->names[i] == name)
      return static_cast<int>(i);
  return -1;
}

int pzrt_grid_coord(const pzrt_grid *g, int axis) {
  if (!g || axis < 0 || axis >= static_cast<int>(g->dims.size()))
    return -1;
  return g->coords[static_cast<size_t>(axis)];
}

int pzrt_grid_rank_of(const pzrt_grid *g, const int *coords) {
  if (!g || !coords)
    return -1;
  int r = 0;
  for (size_t i = 0; i < g->dims.size(); ++i) {
    if (coords[i] < 0 || coords[i] >= g->dims[i])
      return -1;
    r = r * g->dims[i] + coords[i];
  }
  return r;
}

pzrt_comm *pzrt_grid_axis_comm(pzrt_grid *g, int axis) {
  if (!g || axis < 0 || axis >= static_cast<int>(g->dims.size())) {
    fail("grid_axis_comm: axis %d is out of range", axis);
    return nullptr;
  }
  return g->comms[1u << axis];
}

pzrt_comm *pzrt_grid_axes_comm(pzrt_grid *g, unsigned mask) {
  if (!g || mask == 0 || mask >= (1u << g->dims.size())) {
    fail("grid_axes_comm: axis mask 0x%x is empty or names axes beyond the grid", mask);
    return nullptr;
  }
  auto it = g->comms.find(mask);
  if (it != g->comms.end())
    return it->second;
  return g->make(mask);
}

} // extern "C"
