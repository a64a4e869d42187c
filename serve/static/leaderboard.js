// The leaderboard: GET v1/leaderboard?by=model|role&style=true|false[&category=…], as a table of
// rank, name, Bradley-Terry strength with its bootstrap 95% interval (as text, "1034 (1002–1066)",
// and as a bar on one scale for all rows), wins, losses and ties; with style control on (the
// default) the standings hold answer length and Markdown equal, and the line under the title
// gives each style coefficient. A category (a study probe's id) ranks that category's votes
// alone. Reloaded after every acknowledged vote.

import { errorMessage, headers } from "./api.js";

const round = (x) => Math.round(x);

export function strengthText(s) {
  return `${round(s.strength)} (${round(s.ci_low)}–${round(s.ci_high)})`;
}

// Positions on a 0–100 scale shared by every row: the interval and the point.
export function barScale(standings) {
  const lo = Math.min(...standings.map((s) => s.ci_low));
  const hi = Math.max(...standings.map((s) => s.ci_high));
  const pad = Math.max((hi - lo) * 0.05, 1);
  return (x) => (100 * (x - lo + pad)) / (hi - lo + 2 * pad);
}

function cell(tag, text, className) {
  const el = document.createElement(tag);
  if (text != null) el.textContent = text;
  if (className) el.className = className;
  return el;
}

export class Leaderboard {
  // onAbsent(): the server has no votes (404: `votes.enabled` is off); the panel hides itself.
  constructor(root, onAbsent = () => {}) {
    this.root = root;
    this.onAbsent = onAbsent;
    this.by = "model";
    this.summary = root.querySelector("#board-summary");
    this.table = root.querySelector("#board-table");
    this.body = this.table.querySelector("tbody");
    this.byButtons = [...root.querySelectorAll("button[data-by]")];
    for (const button of this.byButtons) {
      button.addEventListener("click", () => {
        this.by = button.dataset.by;
        for (const b of this.byButtons) b.setAttribute("aria-pressed", String(b === button));
        this.load();
      });
    }
    root.querySelector("#board-refresh").addEventListener("click", () => this.load());
    this.styleBox = root.querySelector("#board-style");
    this.categorySelect = root.querySelector("#board-category");
    this.styleBox.addEventListener("change", () => this.load());
    this.categorySelect.addEventListener("change", () => this.load());
  }

  // [[id, label], …]: the categories offered (the study's probes), after "All prompts".
  setCategories(categories) {
    for (const [id, label] of categories) {
      const option = document.createElement("option");
      option.value = id;
      option.textContent = label;
      this.categorySelect.append(option);
    }
  }

  query() {
    const q = new URLSearchParams({ by: this.by, style: String(this.styleBox.checked) });
    if (this.categorySelect.value) q.set("category", this.categorySelect.value);
    return q.toString();
  }

  async load() {
    const by = this.by;
    const query = this.query();
    this.root.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(`v1/leaderboard?${query}`, { headers: headers() });
    } catch (err) {
      return this.message(`Cannot load the leaderboard (${err.message}).`);
    } finally {
      this.root.setAttribute("aria-busy", "false");
    }
    if (by !== this.by || query !== this.query()) return;  // another view was asked for meanwhile
    if (response.status === 404) {
      this.root.hidden = true;
      return this.onAbsent();
    }
    if (!response.ok) return this.message(`Cannot load the leaderboard (${await errorMessage(response)}).`);
    this.show(await response.json());
  }

  message(text) {
    this.summary.textContent = text;
    this.table.hidden = true;
  }

  show(board) {
    if (!board.standings.length) {
      return this.message("No votes yet: vote on a comparison and the standings start here.");
    }
    this.summary.textContent = `${board.votes} vote${board.votes === 1 ? "" : "s"} · ` +
      `${board.comparisons} pairwise outcomes · ${board.method}, 95% intervals from ` +
      `${board.bootstrap_samples} bootstrap samples`;
    if (board.style_control) {
      const fx = board.style_coefficients.map((c) => `${c.feature} ${c.coefficient >= 0 ? "+" : ""}` +
        `${c.coefficient.toFixed(2)} (${c.ci_low.toFixed(2)}…${c.ci_high.toFixed(2)})`);
      this.summary.textContent += ` · style held equal; style alone, log-odds per SD: ${fx.join(", ")}`;
    }
    const scale = barScale(board.standings);
    this.body.replaceChildren(...board.standings.map((s) => {
      const row = document.createElement("tr");
      row.dataset.name = s.name;
      const strength = cell("td", null, "strength");
      const bar = cell("span", null, "ci-bar");
      bar.setAttribute("aria-hidden", "true");  // the text says the same
      const range = cell("span", null, "ci-range");
      range.style.left = `${scale(s.ci_low)}%`;
      range.style.width = `${Math.max(scale(s.ci_high) - scale(s.ci_low), 0.5)}%`;
      const point = cell("span", null, "ci-point");
      point.style.left = `${scale(s.strength)}%`;
      bar.append(range, point);
      strength.append(cell("span", strengthText(s), "ci-text"), bar);
      row.append(cell("td", String(s.rank), "num"), cell("th", s.name), strength,
        cell("td", String(s.wins), "num"), cell("td", String(s.losses), "num"),
        cell("td", String(s.ties), "num"));
      row.children[1].scope = "row";
      return row;
    }));
    this.table.hidden = false;
  }
}
