# The two commands: `make test` and `make demo`. Both set the machine up first.
CARGO ?= cargo
NVCC_BIN := $(CURDIR)/.toolchain/nvcc/nvidia/cu13/bin

.PHONY: setup test lint unit python-test capi-test demo render-sample bundle bench-cpu bench-cpu-compare fuzz fuzz-nvmm fuzz-props doc

setup:
	@scripts/setup

## Everything CI checks: formatting, clippy (warnings denied), the whole test suite
## (GPU tests are ignored without a CUDA device, with the reason; the GPU bundle runs
## them with --include-ignored), and the CPU-only build without the `cuda` feature.
test: setup lint unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

unit:
	$(CARGO) test --workspace --all-features
	# The CPU-only build (no `cuda` feature) needs no nvcc: NVCC points nowhere to prove it.
	NVCC=/nonexistent/nvcc $(CARGO) clippy --no-default-features --all-targets -- -D warnings
	NVCC=/nonexistent/nvcc $(CARGO) test --no-default-features
	# The Python and C crates build without CUDA too.
	NVCC=/nonexistent/nvcc $(CARGO) clippy -p cudadraw-python -p cudadraw-capi --no-default-features --all-targets -- -D warnings
	# The CPU bench in smoke mode: every workload runs once (that it runs, not how fast).
	$(CARGO) bench --bench cpu -- --test
	# The C API (also part of `cargo test --workspace` above: header drift, C test, example).
	# The Python bindings: the wheel built by maturin, installed in the venv, pytest.
	$(MAKE) python-test

## The Python bindings (python/): maturin builds the abi3 wheel, pip installs it into the
## venv scripts/setup made, pytest runs python/tests (NumPy frames vs the reference
## pictures, a PyGObject pipeline with a probe, errors, leaks; and libcudadraw.so through
## ctypes, the mapping python/gpu/check.py uses on the GPU, vs the reference pictures).
PYENV ?= $(if $(CUDADRAW_PYENV),$(CUDADRAW_PYENV),$(CURDIR)/.toolchain/pyenv)
python-test:
	rm -rf target/wheels-test
	$(PYENV)/bin/maturin build --quiet -m python/Cargo.toml -i $(PYENV)/bin/python -o target/wheels-test
	$(PYENV)/bin/python -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels-test/cudadraw-*.whl
	$(CARGO) build --quiet -p cudadraw-capi
	cd python && CUDADRAW_CAPI_LIB=$(CURDIR)/target/debug/libcudadraw.so $(PYENV)/bin/python -m pytest -q tests

## The C API (capi/): header regenerated and compared, the C test and example compiled
## with cc against it and run.
capi-test:
	$(CARGO) test -p cudadraw-capi

## The CPU renderer on the benchmark workloads (no GPU needed): a table of medians.
bench-cpu: setup
	$(CARGO) bench --bench cpu

## The same workloads with OpenCV / NumPy on the same frames and threads, right after the
## CPU renderer: out/bench/table.md (ratios) and out/bench/cpu-bench.png (chart).
BENCH_PY := $(CURDIR)/.toolchain/benchpy
BENCH_PINS := opencv-python-headless==5.0.0.93 numpy==2.4.6 matplotlib==3.11.2
bench-cpu-compare: setup
	@[ "$$(cat $(BENCH_PY)/.pins 2>/dev/null)" = "$(BENCH_PINS)" ] || { rm -rf $(BENCH_PY) && \
	  PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check \
	  --target $(BENCH_PY) $(BENCH_PINS) && echo "$(BENCH_PINS)" > $(BENCH_PY)/.pins; }
	$(CARGO) bench --bench cpu -- --dump out/bench
	PYTHONPATH=$(BENCH_PY) python3 scripts/bench-opencv.py out/bench

## The pipeline demo: moving detections boxed, blurred and overlaid; writes out/.
demo: setup
	$(CARGO) run --release --example demo

## Renders a sample scene (tests/scenes/mixed_example.json) onto a picture with the render tool.
render-sample: setup
	@mkdir -p out
	$(CARGO) run --release --example render -- tests/scenes/mixed_example.json assets/demo-snapshot.png out/sample.png
	@echo "picture: out/sample.png"

## The portable GPU test bundle (binaries + libraries + plugins) in bundle/.
bundle: setup
	scripts/gpu-bundle

## Ten minutes of fuzzing over scene parsing, validation and CPU rendering.
fuzz: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	mkdir -p fuzz/corpus/scene && cp tests/scenes/*.json fuzz/corpus/scene/
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run scene corpus/scene -- -max_total_time=600 -max_len=4096

## Ten minutes of fuzzing NvBufSurface descriptors (validation, from_buffer, host rendering).
fuzz-nvmm: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && python3 seeds/make_seeds.py
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run nvmm_descriptor corpus/nvmm_descriptor -- -max_total_time=600 -max_len=4096 -timeout=30

## Ten minutes of fuzzing the cudadraw element: property strings, then buffers with ROI metas.
fuzz-props: setup
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz
	cd fuzz && python3 seeds/make_seeds.py
	cd fuzz && RUSTC_BOOTSTRAP=1 $(CARGO) fuzz run element_props corpus/element_props -- -max_total_time=600 -max_len=4096 -timeout=30

doc:
	$(CARGO) doc --no-deps --all-features
