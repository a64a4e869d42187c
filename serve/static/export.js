// Download one comparison (the conversation's latest turn): as JSON (the CompareResponse's
// fields, with what was asked, the order shown, the vote and each role's earlier thread) or as a
// Markdown document to read or paste: the prompt, then per role its model, its earlier turns and
// its thinking folded in <details> blocks, its answer, and its numbers (tokens, latency, TTFT,
// tokens/s, cost).

import { tokensPerSecond } from "./column.js";
import { thread } from "./conversation.js";

const earlier = (c, role) => (c.conversation && c.turn > 1 ? thread(c.conversation, role, c.turn) : []);

// c: the page's comparison (see vote.js); answers without a result (stopped) are left out.
export function comparisonJSON(c) {
  const byRole = new Map(c.shown.filter((a) => a.result).map((a) => [a.role, a.result]));
  const out = {
    id: c.id,
    object: "compare",
    created: c.created,
    prompt: c.request.prompt,
    system: c.request.system ?? null,
    roles: c.request.roles,
    params: c.request.params,
    results: c.request.roles.filter((r) => byRole.has(r)).map((r) => byRole.get(r)),
    shown_order: c.shown.map((a) => a.role),
    blind: c.blind,
  };
  if (c.conversation) {
    out.conversation_id = c.conversation.id;
    out.turn = c.turn;
    if (c.turn > 1) out.history = Object.fromEntries(c.request.roles.map((r) => [r, earlier(c, r)]));
  }
  if (c.vote) out.vote = { verdict: c.vote.verdict, winner: c.vote.winner };
  return out;
}

const quote = (text) => text.split("\n").map((line) => (line ? `> ${line}` : ">")).join("\n");

function verdictLine(c) {
  if (!c.vote) return null;
  if (c.vote.verdict === "tie") return "**Vote:** tie";
  if (c.vote.verdict === "all_bad") return "**Vote:** all bad";
  return `**Vote:** ${c.vote.winner} is best`;
}

function stats(r) {
  const parts = [`finish: ${r.finish_reason}`];
  if (r.usage) parts.push(`${r.usage.completion_tokens} tokens`);
  if (r.latency_s != null) parts.push(`${r.latency_s.toFixed(2)} s`);
  if (r.ttft_s != null) parts.push(`TTFT ${r.ttft_s.toFixed(2)} s`);
  const rate = tokensPerSecond(r.usage && r.usage.completion_tokens, r.latency_s, r.ttft_s);
  if (rate != null) parts.push(`${rate.toFixed(1)} tokens/s`);
  if (r.cost_usd != null) parts.push(`$${r.cost_usd.toFixed(6)}`);
  return `*${parts.join(" · ")}*`;
}

export function comparisonMarkdown(c) {
  const lines = [`# Comparison ${c.id}`, ""];
  if (c.conversation && c.turn > 1) lines.push(`Turn ${c.turn} of conversation ${c.conversation.id}`, "");
  lines.push("## Prompt", "", quote(c.request.prompt), "");
  if (c.request.system) lines.push("**System prompt:**", "", quote(c.request.system), "");
  const params = Object.entries(c.request.params || {});
  lines.push(`**Parameters:** ${params.length ? params.map(([k, v]) => `\`${k}=${v}\``).join(", ") : "each role's defaults"}`);
  if (c.blind) lines.push("", `**Blind:** shown as ${c.shown.map((a) => `${a.letter} = ${a.role}`).join(", ")}`);
  const verdict = verdictLine(c);
  if (verdict) lines.push("", verdict);
  for (const a of c.shown) {
    const r = a.result;
    lines.push("", `## ${a.role} · \`${(r && r.model) || a.model}\``, "");
    if (!r) {
      lines.push("*(no result: the comparison was stopped)*");
      continue;
    }
    const before = earlier(c, a.role);
    if (before.length) {
      lines.push("<details><summary>Earlier turns</summary>", "");
      for (const m of before) lines.push(`**${m.role}:** ${m.content}`, "");
      lines.push("</details>", "");
    }
    if (r.error) {
      lines.push(`**Error:** ${r.error.message}`);
      continue;
    }
    if (r.thinking) {
      lines.push("<details><summary>Thinking</summary>", "", r.thinking, "", "</details>", "");
    }
    lines.push(r.content || "*(no answer text)*", "", stats(r));
  }
  return `${lines.join("\n")}\n`;
}

// Saves text as a file through a temporary object URL.
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function downloadComparison(c, format) {
  if (format === "json") {
    download(`triserve-${c.id}.json`, `${JSON.stringify(comparisonJSON(c), null, 2)}\n`, "application/json");
  } else {
    download(`triserve-${c.id}.md`, comparisonMarkdown(c), "text/markdown");
  }
}
