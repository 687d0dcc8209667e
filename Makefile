# Thin wrapper over CMake.  `make` builds build/gradcam.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

PREFIX ?= /usr/local

.PHONY: all deps install demo demo-tasks test test-fast test-sanitize test-methods-full test-layouts-full fuzz bench clean

all: $(BUILD)/gradcam

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

$(BUILD)/gradcam: $(BUILD)/Makefile FORCE
	cmake --build $(BUILD) -j $(JOBS)

FORCE:

deps:
	sh tools/deps.sh

# libgcam (shared and static), gcam.h, gcam.pc and the CMake package under PREFIX
install: all
	cmake --install $(BUILD) --prefix $(PREFIX)

demo: deps
	$(MAKE) all
	bash tools/demo.sh $(BUILD)

# The README's task demos (docs/demo/*.png): per-step maps of models/strip_reader.onnx
# (trained by tools/train_task_demos.py) and per-class maps of a dense model made from
# models/demo.onnx (tools/make_seg_demo.py, into $(BUILD))
demo-tasks:
	$(MAKE) all
	bash tools/demo_tasks.sh $(BUILD)

# The whole suite: unit + op gradient tests, ONNX conformance, torch parity.
test: deps
	$(MAKE) all
	bash tools/run_tests.sh $(BUILD)

# every method on all twelve torchvision models (long: ~1 h of torch on 2 cores)
# token / channels-last layers on torchvision's vit_b_16 and swin_t, segmentation masks on
# fcn_resnet50 and deeplabv3_mobilenet_v3_large (seeded weights; minutes)
test-layouts-full: deps
	$(MAKE) all
	/usr/bin/python3 tests/parity/test_layouts.py --gradcam $(BUILD)/gradcam --full
	/usr/bin/python3 tests/parity/test_targets.py --gradcam $(BUILD)/gradcam --full

test-methods-full: deps
	$(MAKE) all
	/usr/bin/python3 tools/make_parity_fixtures.py --out tests/parity/fixtures --threads 2
	/usr/bin/python3 tools/make_method_fixtures.py --fixtures tests/parity/fixtures --threads 2
	/usr/bin/python3 tests/parity/run_methods.py --gradcam $(BUILD)/gradcam --fixtures tests/parity/fixtures \
	  --skip "mobilenet_v2:saliency=float32 rounding at ReLU6 kinks: pearson 0.99982, max diff 0.0178 vs torch float32 and 0.0176 vs float64; our own oneDNN and reference (GCAM_CONV=ref) kernels differ from each other by 0.0094 on it"

test-sanitize: deps
	bash tools/run_sanitize.sh

# Side-by-side timings against PyTorch (bench/run_bench.sh); never part of `make test`.
bench: $(BUILD)/gradcam
	bash bench/run_bench.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-fuzz
