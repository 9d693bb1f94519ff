// Analysis run page: polls the run's status (same origin) and follows it to its results.
const POLL_MS = 500;

function show(section, s) {
  section.dataset.state = s.state;
  const stage = section.querySelector(".run-stage");
  const count = section.querySelector(".run-count");
  const bar = section.querySelector("progress");
  const message = section.querySelector(".run-message");
  const result = section.querySelector(".run-result");
  stage.textContent = s.state === "failed" ? `failed during ${s.stage || "the run"}` : s.stage || s.state;
  count.textContent = s.total ? `${s.done} / ${s.total}` : "";
  bar.max = s.total || 1;
  bar.value = s.state === "done" ? bar.max : s.done || 0;
  message.textContent = s.message || "";
  message.hidden = !s.message;
  message.classList.toggle("failed", s.state === "failed");
  if (s.result_href) {
    result.href = s.result_href;
    result.hidden = false;
  }
}

export function initRun(root) {
  const section = root.querySelector("section.run[data-status-url]");
  if (!section) return;
  const url = section.dataset.statusUrl;
  const poll = async () => {
    let s;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      s = await response.json();
    } catch (err) {
      show(section, { state: "unknown", message: `Could not read the run's progress (${err.message}); reload to retry.` });
      return;
    }
    show(section, s);
    if (s.state === "done" && s.result_href) window.location.assign(s.result_href);
    else if (s.state !== "failed") window.setTimeout(poll, POLL_MS);
  };
  if (section.dataset.state === "done") {
    // Finished before the page arrived (a small run on a busy machine): follow it all the same.
    const result = section.querySelector(".run-result");
    if (result && !result.hidden && result.getAttribute("href")) window.location.assign(result.href);
  } else if (section.dataset.state !== "failed") poll();
}
