"""Terminal views for the CLI (rich): roles side by side, model lists, health.

Model text is always wrapped in `Text` (never parsed as markup) and its control characters made
visible, so an answer cannot restyle or corrupt the terminal.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Group, RenderableType
from rich.rule import Rule
from rich.table import Table
from rich.text import Text

from clients._text import rate, visible
from serve.api.protocol import CompareEvent, CompareResponse, HealthResponse, ModelList, RoleResult


@dataclass
class RoleView:
    """One role's column, filled at once or event by event while streaming."""

    role: str
    model: str = ""
    thinking: str = ""
    content: str = ""
    result: RoleResult | None = None

    def add(self, event: CompareEvent) -> None:
        if event.type == "delta":
            self.thinking += event.thinking or ""
            self.content += event.content or ""
        elif event.result is not None:
            self.result = event.result
            self.model = event.result.model
            # The result is authoritative (e.g. stop strings trimmed at the end).
            self.thinking = event.result.thinking or ""
            self.content = event.result.content

    @classmethod
    def of(cls, r: RoleResult) -> RoleView:
        return cls(r.role, r.model, r.thinking or "", r.content, r)


def views(response: CompareResponse) -> list[RoleView]:
    return [RoleView.of(r) for r in response.results]


def footer(view: RoleView) -> Text:
    r = view.result
    if r is None:
        return Text("generating…", style="dim")
    if r.error is not None:
        return Text(f"error: {r.error.message}", style="bold red")
    tokens = r.usage.completion_tokens
    line = f"{tokens} tok · {r.latency_s:.2f} s · {rate(tokens, r.latency_s):.1f} tok/s"
    if r.ttft_s is not None:
        line += f" · TTFT {r.ttft_s:.2f} s"
    if r.cost_usd is not None:
        line += f" · ${r.cost_usd:.6f}"
    if r.finish_reason != "stop":
        line += f" · {r.finish_reason}"
    return Text(line, style="cyan")


def _cell(view: RoleView, show_thinking: bool) -> RenderableType:
    parts: list[RenderableType] = []
    if view.thinking and show_thinking:
        parts += [Text("thinking", style="dim bold"),
                  Text(visible(view.thinking), style="dim italic"),
                  Rule(style="dim")]
    elif view.thinking:
        parts.append(Text(f"[thinking: {len(view.thinking)} characters hidden]", style="dim"))
    if view.content or view.result is None or not view.thinking:
        parts.append(Text(visible(view.content)))
    else:
        parts.append(Text("(no answer: the token budget ran out while thinking)", style="dim"))
    return Group(*parts)


def compare_table(columns: list[RoleView], show_thinking: bool = True) -> Table:
    """One column per role; the reasoning role's thinking dimmed above a rule; a footer row."""
    table = Table(box=box.ROUNDED, show_footer=True, expand=True, show_lines=False)
    for v in columns:
        header = Text(v.role, style="bold")
        header.append(f"\n{v.model or '…'}", style="dim")
        table.add_column(header, footer=footer(v), ratio=1, overflow="fold", vertical="top")
    table.add_row(*(_cell(v, show_thinking) for v in columns))
    return table


def models_table(models: ModelList) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("role", style="bold")
    table.add_column("kind")
    table.add_column("model")
    for card in models.data:
        table.add_row(card.role, card.kind or "", Text(card.model))
    return table


def health_table(health: HealthResponse) -> Table:
    table = Table(box=box.SIMPLE_HEAD, title=f"status: {health.status}",
                  title_style="bold green" if health.status == "ok" else "bold red")
    table.add_column("role", style="bold")
    table.add_column("status")
    table.add_column("model")
    table.add_column("error", style="red")
    for role, h in health.roles.items():
        status = Text(h.status, style="green" if h.status == "ok" else "bold red")
        table.add_row(role, status, Text(h.model), Text(h.error or ""))
    return table


def compare_markdown(prompt: str, system: str | None, params, response: CompareResponse) -> str:
    """One comparison as a Markdown document: the prompt as a quote, the settings, then each
    role's model, its thinking folded in <details>, its answer and its numbers (the same
    document the page's "Markdown" download writes)."""
    lines = [f"# Comparison {response.id}", "", *[f"> {line}" for line in prompt.splitlines()], ""]
    if system:
        lines += [f"System prompt: {system}", ""]
    sent = params.model_dump(exclude_none=True) if params is not None else {}
    if sent:
        lines += ["Parameters: " + ", ".join(f"`{k}={v}`" for k, v in sent.items()), ""]
    for r in response.results:
        lines += [f"## {r.role} — {r.model}", ""]
        if r.error is not None:
            lines += [f"**Error** ({r.error.code}): {r.error.message}", ""]
            continue
        if r.thinking:
            lines += ["<details><summary>Thinking</summary>", "", r.thinking, "", "</details>", ""]
        lines += [r.content or "*(no answer)*", ""]
        cost = f", ${r.cost_usd:.6f}" if r.cost_usd is not None else ""
        ttft = f", TTFT {r.ttft_s:.2f} s" if r.ttft_s is not None else ""
        lines += [f"*{r.usage.completion_tokens} tokens, {r.latency_s:.2f} s{ttft}{cost}, "
                  f"finish: {r.finish_reason}*", ""]
    return "\n".join(lines)
