"""The vllm engine: vLLM's AsyncLLM inside the role's model deployment (serve/engines/vllm/engine.py)."""
