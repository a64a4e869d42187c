// Reading server-sent events from a fetch() response body.
//
// EventSource cannot POST or send an Authorization header, so the page reads the stream itself:
// frames are separated by a blank line, each `data:` line carries one JSON CompareEvent, and the
// stream ends with `data: [DONE]`.
//
//   for await (const event of compareEvents(response)) { ... }   // event: {id, role, type, ...}

export const DONE = Symbol("done");

// The `data:` payloads of the frames in `text`, and the unfinished tail to keep for later.
export function splitFrames(text) {
  // A chunk may end between the \r and the \n of one line break: keep that \r for later.
  const held = text.endsWith("\r") ? "\r" : "";
  if (held) text = text.slice(0, -1);
  const frames = text.replace(/\r\n?/g, "\n").split("\n\n");
  const rest = frames.pop() + held;
  const payloads = [];
  for (const frame of frames) {
    const data = frame
      .split("\n")
      .filter((line) => line.startsWith("data:"))
      .map((line) => line.slice(5).replace(/^ /, ""));
    if (data.length) payloads.push(data.join("\n"));
  }
  return { payloads, rest };
}

// Yields each CompareEvent as an object, then DONE once the server says so. A stream that ends
// without `[DONE]` simply ends: the caller sees which roles never got their result.
export async function* compareEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += decoder.decode(value || new Uint8Array(), { stream: !done });
      const { payloads, rest } = splitFrames(done ? buffer + "\n\n" : buffer);
      buffer = rest;
      for (const payload of payloads) {
        if (payload === "[DONE]") {
          yield DONE;
          return;
        }
        yield JSON.parse(payload);
      }
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
