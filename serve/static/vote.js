// Votes on a finished comparison: one "… is best" button per answer, "Tie" and "All bad".
//
// The panel opens only once every role's `result` event has arrived and the stream ended with
// [DONE] (a vote on half an answer is no vote), and closes when the next comparison starts.
// A button shows as chosen only once the server has acknowledged the vote (VoteAck); a failed
// vote says why and can be sent again; another button replaces the vote (same comparison_id).
// In blind mode the first acknowledged vote reveals the names.

import { postJSON } from "./api.js";
import { thread } from "./conversation.js";

// The POST v1/votes body (serve/api/votes.py: VoteRequest): the turn's answers as shown now,
// each with its role's own earlier thread, and which turn of which conversation it was.
export function voteBody(c, verdict, winner) {
  const history = (role) => (c.conversation && c.turn > 1 ? thread(c.conversation, role, c.turn) : null);
  const body = {
    comparison_id: c.id,
    prompt: c.request.prompt,
    system: c.request.system ?? null,
    params: c.request.params,
    answers: c.votable.map((a) => ({
      role: a.role, model: a.result.model || a.model,
      content: a.result.content || "", thinking: a.result.thinking ?? null,
      history: history(a.role),
    })),
    shown_order: c.votable.map((a) => a.role),
    blind: c.blind,
    verdict,
  };
  if (c.conversation) {
    body.conversation_id = c.conversation.id;
    body.turn = c.turn;
  }
  if (c.request.category) body.category = c.request.category;
  body.session_id = voterSession();
  if (verdict === "winner") body.winner = winner;
  return body;
}

// This tab's voter session (sessionStorage): the leaderboard can count each session's first
// vote alone (`first_vote_only`).
export function voterSession() {
  let id = sessionStorage.getItem("triserve.session");
  if (!id) {
    id = `s-${crypto.getRandomValues(new Uint32Array(2)).join("")}`;
    sessionStorage.setItem("triserve.session", id);
  }
  return id;
}

export class VotePanel {
  // root: the #vote section; onVoted(comparison, ack) after each acknowledged vote.
  constructor(root, onVoted) {
    this.root = root;
    this.buttonsEl = root.querySelector("#vote-buttons");
    this.statusEl = root.querySelector("#vote-status");
    this.errorEl = root.querySelector("#vote-error");
    this.retryBtn = root.querySelector("#vote-retry");
    this.onVoted = onVoted;
    this.comparison = null;
    this.off = false;  // the server keeps no votes
    this.retryBtn.addEventListener("click", () => { if (this.failed) this.cast(this.failed); });
  }

  // c: {id, request, blind, revealed, shown: [answer], votable: [answer]} where an answer is
  // {role, model, letter, column, result}. Fewer than two answers to compare, or a server that
  // keeps no votes: no panel.
  open(c) {
    this.comparison = c;
    this.failed = null;
    this.pending = false;
    this.showError("");
    this.statusEl.textContent = "";
    if (this.off || c.votable.length < 2) {
      this.root.hidden = true;
      return;
    }
    const choices = c.votable.map((a) => ({ verdict: "winner", winner: a.role, answer: a }));
    choices.push({ verdict: "tie", text: "Tie", title: "Every answer is as good as the others" },
      { verdict: "all_bad", text: "All bad", title: "Every answer is bad" });
    this.buttonsEl.replaceChildren(...choices.map((choice) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "vote-choice";
      button.setAttribute("aria-pressed", "false");
      if (choice.title) button.title = choice.title;
      button.addEventListener("click", () => this.cast(choice));
      choice.button = button;
      return button;
    }));
    this.choices = choices;
    this.relabel();
    this.root.hidden = false;
  }

  close() {
    this.comparison = null;
    this.root.hidden = true;
  }

  // The name of an answer: its letter while blind, then the letter and the role.
  label(a) {
    const c = this.comparison;
    if (!c.blind) return a.role;
    return c.revealed && a.role !== a.letter ? `${a.letter} (${a.role})` : a.letter;
  }

  relabel() {
    for (const choice of this.choices) {
      choice.button.textContent = choice.answer ? `${this.label(choice.answer)} is best` : choice.text;
    }
  }

  describe(choice) {
    if (choice.verdict === "tie") return "a tie";
    if (choice.verdict === "all_bad") return "all bad";
    return `${this.label(choice.answer)} is best`;
  }

  showError(message) {
    this.errorEl.textContent = message;
    this.errorEl.hidden = !message;
    this.retryBtn.hidden = !message;
  }

  setBusy(busy) {
    for (const choice of this.choices) choice.button.disabled = busy;
    this.retryBtn.disabled = busy;
    this.root.setAttribute("aria-busy", String(busy));
  }

  async cast(choice) {
    const c = this.comparison;
    if (!c || this.pending) return;
    this.pending = true;
    this.setBusy(true);
    this.showError("");
    this.statusEl.textContent = "Saving your vote…";
    let ack;
    try {
      ack = await postJSON("v1/votes", voteBody(c, choice.verdict, choice.winner));
    } catch (err) {
      if (this.comparison === c) {
        this.failed = choice;
        this.statusEl.textContent = "";
        this.showError(`Your vote was not saved (${err.message}). Try again, or pick another answer.`);
      }
      return;
    } finally {
      this.pending = false;
      if (this.comparison === c) this.setBusy(false);
    }
    if (this.comparison !== c) return;  // a new comparison started meanwhile; the vote is stored
    this.failed = null;
    c.vote = { verdict: choice.verdict, winner: choice.winner ?? null, id: ack.id };
    if (ack.revealed) {  // a battle: the letters' roles and models, now the vote is in
      for (const a of c.shown) {
        const r = ack.revealed[a.letter];
        if (r) a.column.rename(r.role, r.model);
        if (r) Object.assign(a, { role: r.role, model: r.model });
      }
    }
    for (const other of this.choices) other.button.setAttribute("aria-pressed", String(other === choice));
    if (c.blind && !c.revealed) {
      c.revealed = true;
      for (const a of c.shown) a.column.reveal();
      this.relabel();
    }
    this.statusEl.textContent = `${ack.replaced ? "Vote changed" : "Vote saved"}: ${this.describe(choice)}. ` +
      "You can change it until the next comparison.";
    this.onVoted(c, ack);
  }
}
