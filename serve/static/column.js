// One role's column: it fills in from the stream's deltas, then shows the role's final result.
// Its state (`data-state`: waiting, streaming, done, stopped, error) is shown as text in the
// badge, never by colour alone. In a conversation the column keeps its thread: each earlier turn
// (the prompt and this role's answer) stays above the live one (archive), and the live answer
// can be regenerated (restart: the old text stays until the new one's first token).

const BADGE = {
  waiting: "waiting",
  streaming: "streaming…",
  done: "done",
  stopped: "stopped",
  error: "error",
};

const seconds = (s) => (s == null ? "–" : `${s.toFixed(2)} s`);

// Decode speed: the tokens after the first over the time after the first, so that a slow
// prefill (or a queue) shows up in "first token", not here.
export function tokensPerSecond(n, latency, ttft) {
  if (!n || !latency) return null;
  if (n > 1 && ttft != null && latency > ttft) return (n - 1) / (latency - ttft);
  return n / latency;
}

export class Column {
  constructor(template, role, model, kind) {
    this.role = role;
    this.kind = kind || "";
    this.el = template.content.firstElementChild.cloneNode(true);
    const q = (sel) => this.el.querySelector(sel);
    this.badge = q(".badge");
    this.thinkingBox = q(".thinking");
    this.thinkingEl = q(".thinking-text");
    this.answerEl = q(".answer");
    this.errorEl = q(".col-error");
    this.statsEl = q(".stats");
    this.modelEl = q(".model");
    this.kindEl = q(".kind");
    this.threadEl = q(".thread");
    this.askedEl = q(".asked");
    this.regenBtn = q(".regen");
    this.onRegenerate = null;
    this.regenBtn.addEventListener("click", () => { if (this.onRegenerate) this.onRegenerate(); });

    const title = q(".col-title");
    title.id = `col-${role}-title`;
    this.el.id = `col-${role}`;
    this.el.dataset.role = role;
    this.el.setAttribute("aria-labelledby", title.id);
    this.letterEl = q(".letter");
    this.whoEl = q(".who");
    this.roleEl = q(".role");
    this.model = model || "";
    this.blinded = false;
    this.showNames();

    this.thinkingText = this.thinkingEl.appendChild(document.createTextNode(""));
    this.answerText = this.answerEl.appendChild(document.createTextNode(""));
    this.setState("waiting");
  }

  // The names, unless blind: then they are not in the page at all (hidden text could still be
  // read, selected or copied) until reveal().
  showNames() {
    this.roleEl.textContent = this.blinded ? "" : this.role;
    this.modelEl.textContent = this.blinded ? "" : this.model;
    this.kindEl.textContent = this.blinded ? "" : this.kind;
    this.regenBtn.setAttribute("aria-label", `Regenerate ${this.letter && this.blinded ? `answer ${this.letter}` : this.role}`);
    this.whoEl.hidden = this.blinded;
    const label = this.letter ? `Answer ${this.letter}${this.blinded ? "" : `, ${this.role}`}` : this.role;
    this.answerEl.setAttribute("aria-label", this.letter ? label : `${label} answer`);
    this.thinkingEl.setAttribute("aria-label", `${label} thinking`);
  }

  // Blind mode: titled "Answer A", no role or model name until reveal().
  blind(letter) {
    this.letter = letter;
    this.letterEl.textContent = `Answer ${letter}`;
    this.letterEl.hidden = false;
    this.blinded = true;
    this.el.classList.add("blind");
    this.showNames();
  }

  // A battle's answer, once the vote reveals whose it was.
  rename(role, model) {
    this.role = role;
    this.el.dataset.role = role;
    this.model = model || "";
    this.showNames();
  }

  reveal() {
    if (!this.blinded) return;
    this.blinded = false;
    this.el.classList.replace("blind", "revealed");
    this.showNames();
  }

  get finished() {
    return ["done", "stopped", "error"].includes(this.el.dataset.state);
  }

  setState(state) {
    this.el.dataset.state = state;
    this.badge.textContent = BADGE[state];
    // aria-busy keeps screen readers from announcing every token; they read the column when done.
    this.el.setAttribute("aria-busy", String(state === "streaming" || state === "waiting"));
  }

  // The turn is over: its prompt and this role's answer move up into the thread, and the live
  // part is cleared for the next turn.
  archive(prompt) {
    const block = document.createElement("div");
    block.className = "past-turn";
    const asked = document.createElement("p");
    asked.className = "you";
    asked.textContent = prompt;
    const answer = document.createElement("div");
    answer.className = "past-answer text";
    const failed = this.el.dataset.state === "error";
    answer.textContent = failed ? `(error: ${this.errorEl.textContent})` : this.answerText.data;
    answer.classList.toggle("error", failed);
    block.append(asked, answer);
    this.threadEl.append(block);
    this.threadEl.hidden = false;
    this.clear();
    this.errorEl.hidden = true;
    this.statsEl.hidden = true;
    this.setState("waiting");
  }

  // The prompt of the live turn (from the second turn on), shown above its answer.
  ask(prompt) {
    this.askedEl.textContent = prompt;
    this.askedEl.hidden = false;
  }

  // Regenerate: the answer shown stays until the new one's first token replaces it.
  restart() {
    this.replacing = true;
    this.errorEl.hidden = true;
    this.setState("waiting");
  }

  clear() {
    this.thinkingText.data = "";
    this.thinkingBox.hidden = true;
    this.answerText.data = "";
    this.answerEl.classList.remove("empty");
  }

  delta(event) {
    if (this.replacing) {
      this.replacing = false;
      this.clear();
    }
    if (this.el.dataset.state === "waiting") this.setState("streaming");
    if (event.thinking) {
      this.thinkingBox.hidden = false;
      const atEnd = this.thinkingEl.scrollHeight - this.thinkingEl.scrollTop - this.thinkingEl.clientHeight < 8;
      this.thinkingText.appendData(event.thinking);
      if (atEnd) this.thinkingEl.scrollTop = this.thinkingEl.scrollHeight;  // follow, unless scrolled up
    }
    if (event.content) this.answerText.appendData(event.content);
  }

  finish(result) {
    if (result.model) {
      this.model = result.model;
      this.showNames();
    }
    if (result.error) {
      this.fail(result.error.message || "this role failed");
      return;
    }
    // The result is authoritative (stop strings, the thinking split): show it as sent.
    if (this.replacing) this.clear();
    this.replacing = false;
    this.answerText.data = result.content || "";
    if (result.thinking) {
      this.thinkingBox.hidden = false;
      this.thinkingText.data = result.thinking;
    }
    this.answerEl.classList.toggle("empty", !result.content);
    this.showStats(result);
    this.setState("done");
    if (result.finish_reason === "length") this.badge.textContent = "done · token limit";
  }

  showStats(result) {
    const n = result.usage ? result.usage.completion_tokens : 0;
    const rate = tokensPerSecond(n, result.latency_s, result.ttft_s);
    this.statsEl.querySelector(".s-tokens").textContent = String(n);
    this.statsEl.querySelector(".s-latency").textContent = seconds(result.latency_s);
    this.statsEl.querySelector(".s-ttft").textContent = seconds(result.ttft_s);
    this.statsEl.querySelector(".s-rate").textContent = rate == null ? "–" : rate.toFixed(1);
    const cost = result.cost_usd;
    this.statsEl.querySelector(".s-cost").textContent = cost == null ? "" : `$${cost.toFixed(6)}`;
    this.statsEl.querySelector(".stat-cost").hidden = cost == null;
    this.statsEl.hidden = false;
  }

  stop() {
    if (!this.finished) this.setState("stopped");
  }

  fail(message) {
    this.replacing = false;
    this.errorEl.textContent = message;
    this.errorEl.hidden = false;
    this.setState("error");
  }
}
