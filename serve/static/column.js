// One role's column: it fills in from the stream's deltas, then shows the role's final result.
// Its state (`data-state`: waiting, streaming, done, stopped, error) is shown as text in the
// badge, never by colour alone.

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
  constructor(template, role, model) {
    this.role = role;
    this.el = template.content.firstElementChild.cloneNode(true);
    const q = (sel) => this.el.querySelector(sel);
    this.badge = q(".badge");
    this.thinkingBox = q(".thinking");
    this.thinkingEl = q(".thinking-text");
    this.answerEl = q(".answer");
    this.errorEl = q(".col-error");
    this.statsEl = q(".stats");
    this.modelEl = q(".model");

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

  delta(event) {
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
    this.statsEl.hidden = false;
  }

  stop() {
    if (!this.finished) this.setState("stopped");
  }

  fail(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = false;
    this.setState("error");
  }
}
