// A conversation on the page: turns over one set of columns, each role keeping its own thread.
// The server keeps nothing between turns: each turn's `POST v1/compare` carries every role's own
// earlier turns in `history` (serve/api/protocol.py CompareRequest), built here from what the
// columns show (a regenerated answer replaces the earlier one in the thread).
//
// conv: {id, request: the form state of turn 1 (roles, params, system), blind, revealed,
//        columns: [{role, model, letter, column}], turns: [turn]}
// turn (what vote.js and export.js read as a comparison): {conversation, turn (from 1), id,
//        created, request: {...conv.request, prompt}, blind, revealed, shown: [{role, model,
//        letter, column, result}], votable, vote}

export function newConversation(request, blind) {
  const hex = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");
  return { id: `conv-${hex}`, request, blind, revealed: !blind, columns: [], turns: [] };
}

// The next turn of `conv`, asking `prompt` of every column.
export function newTurn(conv, prompt) {
  const t = {
    conversation: conv, turn: conv.turns.length + 1, id: null,
    created: Math.floor(Date.now() / 1000), request: { ...conv.request, prompt },
    blind: conv.blind, revealed: conv.revealed, votable: [], vote: null,
    shown: conv.columns.map((col) => ({ ...col, result: null })),
  };
  conv.turns.push(t);
  return t;
}

// `role`'s own messages of the turns before turn number `upto` (from 1): for each turn it
// answered, the prompt and its answer (content only: a reasoning model's thinking stays out).
export function thread(conv, role, upto) {
  const out = [];
  for (const t of conv.turns.slice(0, upto - 1)) {
    const a = t.shown.find((x) => x.role === role);
    if (a && a.result && !a.result.error) {
      out.push({ role: "user", content: t.request.prompt }, { role: "assistant", content: a.result.content || "" });
    }
  }
  return out;
}

// The streaming compare body for turn `t`, asking `roles` (all its columns unless given), with
// `params` laid over the turn's own.
export function turnBody(t, roles, params = {}) {
  const asked = roles || t.shown.map((a) => a.role);
  const body = { prompt: t.request.prompt, roles: asked, params: { ...t.request.params, ...params }, stream: true };
  if (t.request.system) body.system = t.request.system;
  const history = {};
  for (const role of asked) {
    const h = thread(t.conversation, role, t.turn);
    if (h.length) history[role] = h;
  }
  if (Object.keys(history).length) body.history = history;
  return body;
}

// A new seed for a regenerate: a random one (31 bits, as the server's `seed` takes).
export function freshSeed() {
  return crypto.getRandomValues(new Uint32Array(1))[0] >>> 1;
}
