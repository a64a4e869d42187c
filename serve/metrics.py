"""Prometheus metrics of triserve, through Ray Serve's metrics API.

Ray exports them from every node's metrics agent (`ray start --metrics-export-port=P`, or
`ray.nodes()[i]["MetricsExportPort"]`) with the prefix `ray_`, e.g. `ray_triserve_requests_total`;
Serve adds the deployment, replica and application as tags.
"""

from __future__ import annotations

from ray.serve import metrics

_LATENCY_S = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300]
_TOKEN_S = [0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28]
_BATCH = [1, 2, 4, 8, 16, 32, 64, 128]


class RoleMetrics:
    """A model deployment's metrics, tagged with its role."""

    def __init__(self, role: str):
        self.tags = {"role": role}
        self.requests = metrics.Counter(
            "triserve_requests_total", "Generation requests finished, by finish reason.",
            tag_keys=("role", "finish_reason"))
        self.prompt_tokens = metrics.Counter(
            "triserve_prompt_tokens_total", "Prompt tokens of finished requests.", tag_keys=("role",))
        self.generated_tokens = metrics.Counter(
            "triserve_generated_tokens_total", "Tokens generated.", tag_keys=("role",))
        self.ttft = metrics.Histogram(
            "triserve_time_to_first_token_seconds", "From arrival at the replica to the first text.",
            boundaries=_LATENCY_S, tag_keys=("role",))
        self.tpot = metrics.Histogram(
            "triserve_time_per_output_token_seconds", "Mean time per token after the first.",
            boundaries=_TOKEN_S, tag_keys=("role",))
        self.batch_size = metrics.Histogram(
            "triserve_batch_size", "Requests decoding in the replica, seen as each one starts.",
            boundaries=_BATCH, tag_keys=("role",))
        for metric in (self.prompt_tokens, self.generated_tokens, self.ttft, self.tpot, self.batch_size):
            metric.set_default_tags(dict(self.tags))  # Serve adds its tags to the dict it gets

    def finished(self, finish_reason: str, prompt_tokens: int, tokens: int,
                 ttft_s: float | None, decode_s: float) -> None:
        self.requests.inc(tags={**self.tags, "finish_reason": finish_reason})
        # Ray's counters take only positive increments; a scored prompt (`echo`, max_tokens 0)
        # generates none.
        if prompt_tokens > 0:
            self.prompt_tokens.inc(prompt_tokens)
        if tokens > 0:
            self.generated_tokens.inc(tokens)
        if ttft_s is not None:
            self.ttft.observe(ttft_s)
        if tokens > 1:
            self.tpot.observe(decode_s / (tokens - 1))


class IngressMetrics:
    def __init__(self):
        self.compare_latency = metrics.Histogram(
            "triserve_compare_latency_seconds", "Whole /v1/compare requests (non-streaming).",
            boundaries=_LATENCY_S, tag_keys=("roles",))
        self.errors = metrics.Counter(
            "triserve_errors_total", "Error answers, by HTTP status and error code.",
            tag_keys=("status", "code"))
        self.role_errors = metrics.Counter(
            "triserve_role_errors_total", "Roles that failed inside a comparison, by error code.",
            tag_keys=("role", "code"))


_ingress: IngressMetrics | None = None


def ingress_metrics() -> IngressMetrics:
    """Made on first use, inside the ingress replica (Serve tags metrics with the replica)."""
    global _ingress
    if _ingress is None:
        _ingress = IngressMetrics()
    return _ingress
