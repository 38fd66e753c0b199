# Parallelize: the two setup commands.
#   make demo   install what is missing, build, run the main job on the example
#   make test   install what is missing, build, run the whole test suite
# Both are idempotent: a second run only rebuilds what changed.

BUILD ?= build
JOBS ?= $(shell nproc)
LLVM_PREFIX ?= /usr/lib/llvm-22
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release \
               -DMLIR_DIR=$(LLVM_PREFIX)/lib/cmake/mlir \
               -DLLVM_DIR=$(LLVM_PREFIX)/lib/cmake/llvm

.PHONY: all deps build demo test docs clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD) -j $(JOBS)

demo: build
	@./scripts/demo.sh $(BUILD)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Regenerates docs/generated from the ODS and pass definitions.
docs: build
	ninja -C $(BUILD) pz-docs

clean:
	rm -rf $(BUILD)
