# Parallelize: the two setup commands.
#   make demo   install what is missing, build, run the main job on the example
#   make test   install what is missing, build, run the test suite
#   make test-full  the same plus the parity matrices (label "full")
# Both are idempotent: a second run only rebuilds what changed.
#   make fuzz            run each libFuzzer target FUZZ_SECONDS (60) seconds (fuzz/README.md)
#   make test-sanitize   build everything with ASan+UBSan into build-sanitize, run the suite

BUILD ?= build
JOBS ?= $(shell nproc)
LLVM_PREFIX ?= /usr/lib/llvm-22
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release \
               -DMLIR_DIR=$(LLVM_PREFIX)/lib/cmake/mlir \
               -DLLVM_DIR=$(LLVM_PREFIX)/lib/cmake/llvm

SANITIZE_BUILD ?= build-sanitize
FUZZ_SECONDS ?= 60
FUZZ_WORK ?= $(BUILD)/fuzz-tree/campaign
FUZZ_TARGETS ?=

.PHONY: all deps build demo test test-full docs clean fuzz test-sanitize

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
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -LE full

# The parity matrices (every data-parallel layout, ...): hours on 2 cores.
test-full: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L full

# Long fuzz campaigns over the targets that `make build` built in $(BUILD)/fuzz-tree;
# the corpus grows in $(FUZZ_WORK)/corpus, crashes land in $(FUZZ_WORK)/artifacts.
fuzz: build
	./fuzz/run-fuzzers.sh $(BUILD)/fuzz-tree $(FUZZ_SECONDS) $(FUZZ_WORK) $(FUZZ_TARGETS)

# Everything built with AddressSanitizer and UndefinedBehaviorSanitizer
# (cmake/Sanitizers.cmake), then the whole suite.
$(SANITIZE_BUILD)/build.ninja:
	cmake -G Ninja -S . -B $(SANITIZE_BUILD) $(CMAKE_FLAGS) -DPZ_SANITIZE=address,undefined

test-sanitize: deps $(SANITIZE_BUILD)/build.ninja
	ninja -C $(SANITIZE_BUILD) -j $(JOBS)
	cd $(SANITIZE_BUILD) && ctest --output-on-failure -j $(JOBS) -LE full

# Regenerates docs/generated from the ODS and pass definitions.
docs: build
	ninja -C $(BUILD) pz-docs

clean:
	rm -rf $(BUILD)
