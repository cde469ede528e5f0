# Two commands on a fresh machine:
#   make demo   install what is missing, then run the toy distillation end to end
#   make test   install what is missing, then run the whole test suite
VENV ?= .venv
PY := $(VENV)/bin/python
export KD_VENV := $(abspath $(VENV))

.PHONY: install demo test bench bench-serve compare-toy clean

install:
	@bash tools/install.sh

demo: install
	@$(PY) tools/demo.py $(DEMO_ARGS)

test: install
	@bash tools/run_tests.sh $(TEST_ARGS)

# protocol-v2 benchmarks (not part of the tests): one task or all of them, e.g.
#   make bench TASK=det                    make bench BENCH_ARGS='--plan'
#   make bench TASK=seg BENCH_ARGS='--rerun M6'
# resumable: run the same command again after an interruption (tools/benchmark/run.py)
TASK ?= all
bench: install
	@$(PY) tools/benchmark/run.py $(TASK) $(BENCH_ARGS)

# web-service latency (512 x 512 tile, 200 requests) and memory with the toy student
bench-serve: install
	@$(PY) tools/benchmark/serve_latency.py --train-toy work_dirs/serve_toy $(BENCH_ARGS)

# the README's comparison: tools/compare.py on mmpretrain's own ResNet-50 -> ResNet-18
# configs shrunk to the toy data (resumable; tools/benchmark/compare_toy.py)
compare-toy: install
	@$(PY) tools/benchmark/compare_toy.py $(COMPARE_ARGS)

clean:
	rm -rf work_dirs demo_out data/toy_* .pytest_cache
