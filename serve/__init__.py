"""triserve's server package, by concern:

- `serve/api/` the wire models (what the SDK imports); `serve/ingress/` the HTTP front and the
  fan-out; `serve/replica/` the model deployment; `serve/engines/` the engine seam and its
  engines (hf, vllm, scripted), prompts and model sources; `serve/votes/` the arena's store;
- at the top what all of them share: `app.py` (`serve.app:build_app`, the Serve application
  builder), `config.py` (its validated args), `generation.py` (the internal request and chunk
  types, `resolve_sampling`), `errors.py` (the error types), `metrics.py`.

Kept free of ray and torch imports so that `clients/` can import `serve.api` cheaply.
"""
