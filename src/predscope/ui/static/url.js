// The view's state lives in the URL so a view can be shared and reloaded.

export function getParam(name) {
  return new URL(window.location.href).searchParams.get(name);
}

export function setParam(name, value) {
  const url = new URL(window.location.href);
  if (value === null || value === "") url.searchParams.delete(name);
  else url.searchParams.set(name, value);
  window.history.replaceState(window.history.state, "", url);
}

const CARRIED = ["conf", "hide"];

// Navigate to href keeping the client-side view state (threshold, hidden layers).
export function navigate(href) {
  const here = new URL(window.location.href);
  const target = new URL(href, here);
  for (const name of CARRIED) {
    const value = here.searchParams.get(name);
    if (value !== null && !target.searchParams.has(name)) target.searchParams.set(name, value);
  }
  window.location.assign(target.toString());
}
