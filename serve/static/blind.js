// Blind mode: the columns in a random order, titled "Answer A/B/C", names hidden until the vote.
// The choice is remembered in localStorage (it is a habit of the person, not of one tab).

const STORAGE = "triserve.blind";

export const LETTERS = "ABCDEFGHIJKLMNOP";

export function blindStored() {
  return localStorage.getItem(STORAGE) === "1";
}

export function rememberBlind(on) {
  if (on) localStorage.setItem(STORAGE, "1");
  else localStorage.removeItem(STORAGE);
}

// A uniformly random order (Fisher-Yates over crypto randomness: Math.random would do, but a
// blind test deserves an unbiased, unpredictable shuffle).
export function shuffled(items) {
  const out = [...items];
  const random = new Uint32Array(out.length);
  crypto.getRandomValues(random);
  for (let i = out.length - 1; i > 0; i--) {
    const j = random[i] % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
