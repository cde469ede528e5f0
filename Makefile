# Two commands on a fresh machine:
#   make demo   install what is missing, then run the toy distillation end to end
#   make test   install what is missing, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
export KD_VENV := $(abspath $(VENV))

.PHONY: install demo test bench-det bench-semi bench-cls bench-seg bench-retrieval bench-serve \
	clean

install:
	@bash tools/install.sh

demo: install
	@$(PY) tools/demo.py $(DEMO_ARGS)

test: install
	@bash tools/run_tests.sh $(TEST_ARGS)

# detection KD benchmark (about 75 min on 2 CPU cores; not part of the tests)
bench-det: install
	@$(PY) tools/benchmark/det_kd.py $(BENCH_ARGS)

# semi-supervised (M3) benchmark (reuses bench-det's cached teacher; not part of the tests)
bench-semi: install
	@$(PY) tools/benchmark/semi_kd.py $(BENCH_ARGS)

# classification (M5) and data-free (M7) benchmark on the toy classification data (not
# part of the tests)
bench-cls: install
	@$(PY) tools/benchmark/cls_kd.py $(BENCH_ARGS)

# segmentation (M6) benchmark on the toy medical data: two teachers (cached), no-KD,
# MMRazor CWD, equal-weight multi-teacher, M6, 2 seeds (not part of the tests)
bench-seg: install
	@$(PY) tools/benchmark/seg_kd.py $(BENCH_ARGS)

# metric-learning (M8) benchmark on the toy retrieval data: teacher and student alone,
# one-way RKD, M8's student and teacher, 2 seeds (not part of the tests)
bench-retrieval: install
	@$(PY) tools/benchmark/retrieval_kd.py $(BENCH_ARGS)

# web-service latency (512 x 512 tile, 200 requests) and memory with the toy student
bench-serve: install
	@$(PY) tools/benchmark/serve_latency.py --train-toy work_dirs/serve_toy $(BENCH_ARGS)

clean:
	rm -rf work_dirs demo_out data/toy_* .pytest_cache
