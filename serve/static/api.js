// What every call to the server shares: the bearer token from this tab's session storage, and
// the server's one error shape read as a line of text.

export const KEY_STORAGE = "triserve.apiKey";

export function headers(extra = {}) {
  const key = sessionStorage.getItem(KEY_STORAGE);
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

// The server's `{"error": {...}}` body as one readable line.
export async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return `${response.status}: ${body.error.message}`;
  } catch (_) { /* not JSON */ }
  return `${response.status} ${response.statusText}`;
}

// POSTs `body` as JSON and returns the parsed answer; a non-2xx answer throws its error line.
export async function postJSON(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: headers({ "Content-Type": "application/json" }),
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}
