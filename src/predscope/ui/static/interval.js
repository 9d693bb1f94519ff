// Compare page: the bootstrap intervals take seconds on a large project, so the page comes without
// them and this fetches the same part with them in (same origin) and puts it in place.
import { initSort } from "./sort.js";

async function answer(url) {
  const response = await fetch(url, { headers: { Accept: "text/html" } });
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  if (!response.ok) {
    const error = doc.querySelector("[data-testid='error']");
    throw new Error(error ? error.textContent.trim().replace(/\s+/g, " ") : `status ${response.status}`);
  }
  return doc;
}

export function initInterval(root) {
  const part = root.querySelector("[data-interval-url]");
  if (!part) return;
  answer(part.dataset.intervalUrl)
    .then((doc) => {
      const fresh = doc.getElementById(part.id);
      if (!fresh) throw new Error("the answer holds no intervals");
      const node = document.importNode(fresh, true);
      part.replaceWith(node);
      initSort(node);
      performance.mark("predscope:interval"); // when it arrived, for benchmarks/ui.py
    })
    .catch((err) => {
      part.dataset.state = "failed";
      part.removeAttribute("aria-busy");
      const text = part.querySelector(".pending-text");
      if (text) text.textContent = `The intervals could not be computed: ${err.message}.`;
    });
}
