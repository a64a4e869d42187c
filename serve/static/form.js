// The form's state as one plain object, read from the fields and written back to them: the
// comparison's request is built from it, and a permalink carries it.
//
//   {prompt, system, roles: [..], params: {max_new_tokens, temperature, top_p, seed,
//    enable_thinking, max_thinking_tokens}}   (unset fields are absent)

const $ = (id) => document.getElementById(id);

// The numeric settings, each with how its text is parsed.
export const NUMBER_FIELDS = {
  max_new_tokens: (v) => parseInt(v, 10),
  temperature: Number,
  top_p: Number,
  seed: (v) => parseInt(v, 10),
  max_thinking_tokens: (v) => parseInt(v, 10),
};

export function chosenRoles() {
  return [...document.querySelectorAll('input[name="role"]:checked')].map((box) => box.value);
}

export function readParams() {
  const params = {};
  for (const [name, parse] of Object.entries(NUMBER_FIELDS)) {
    const raw = $(name).value.trim();
    if (raw !== "") params[name] = parse(raw);
  }
  const thinking = $("enable_thinking").value;
  if (thinking) params.enable_thinking = thinking === "true";
  return params;
}

export function readForm() {
  const state = { prompt: $("prompt").value, roles: chosenRoles(), params: readParams() };
  const system = $("system").value.trim();
  if (system) state.system = system;
  return state;
}

// The streaming `POST v1/compare` body for a form state.
export function requestBody(state) {
  const body = { prompt: state.prompt, roles: state.roles, params: state.params, stream: true };
  if (state.system) body.system = state.system;
  return body;
}

// Fills the fields a state names (roles are the caller's: their boxes may not exist yet).
export function fillForm(state) {
  if (state.prompt != null) $("prompt").value = state.prompt;
  if (state.system != null) $("system").value = state.system;
  const params = state.params || {};
  for (const name of Object.keys(NUMBER_FIELDS)) $(name).value = params[name] ?? "";
  const thinking = params.enable_thinking;
  $("enable_thinking").value = thinking == null ? "" : String(thinking);
  // Settings that the link sets are shown, so that nothing it changed is out of sight.
  if (state.system || Object.keys(params).length) document.querySelector(".settings").open = true;
}
