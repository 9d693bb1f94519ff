// Explorer filters: a change fetches the page the form names and puts its main part in place,
// so the browser keeps this page's styles and scripts instead of starting a new one.
import { initLayers } from "./layers.js";
import { fitLabels } from "./labels.js";

// The URL a GET submission of `form` goes to: its fields replace the query, as the browser does.
function target(form, submitter) {
  const url = new URL(form.getAttribute("action") || window.location.href, window.location.href);
  url.search = new URLSearchParams(new FormData(form, submitter)).toString();
  return url.toString();
}

async function fetchPage(url) {
  const response = await fetch(url, { headers: { Accept: "text/html" } });
  const type = response.headers.get("content-type") || "";
  if (!response.ok || !type.startsWith("text/html")) throw new Error(`status ${response.status}`);
  return new DOMParser().parseFromString(await response.text(), "text/html");
}

// The parts a filter changes: the page (filters and results) and the set selector's kept values.
const PARTS = ["#main", "form.set-selector"];

let latest = 0; // a change submitted while another is on its way wins

async function show(root, url) {
  const mine = ++latest;
  performance.mark("predscope:filter-start");
  root.body.dataset.ready = "false";
  let doc;
  try {
    doc = await fetchPage(url);
  } catch {
    if (mine === latest) window.location.assign(url); // an error page, or no answer: show it
    return;
  }
  if (mine !== latest) return;
  const fresh = PARTS.map((selector) => [root.querySelector(selector), doc.querySelector(selector)]);
  if (doc.body.dataset.page !== "explorer" || fresh.some(([here, there]) => !here !== !there)) {
    window.location.assign(url);
    return;
  }
  const refocus = root.activeElement?.closest("#filters") ? root.activeElement.id : null;
  for (const [here, there] of fresh) if (here) here.replaceWith(root.importNode(there, true));
  root.title = doc.title;
  window.history.pushState(null, "", url);
  shown = withoutHash(window.location.href);
  window.scrollTo(0, 0);
  initLayers(root);
  fitLabels(root);
  start(root);
  const focus = (refocus && root.getElementById(refocus)) || root.querySelector("#filters button[type='submit']");
  focus?.focus();
  // Shown when the next frame has been drawn: the measure benchmarks/ui.py reads.
  requestAnimationFrame(() => setTimeout(() => {
    performance.measure("predscope:filter", "predscope:filter-start");
    root.body.dataset.ready = "true";
  }));
}

function start(root) {
  const form = root.getElementById("filters");
  form?.addEventListener("submit", (event) => {
    event.preventDefault();
    show(root, target(form, event.submitter));
  });
}

const withoutHash = (href) => href.split("#")[0];
let shown = withoutHash(window.location.href);

export function initFilters(root) {
  if (root.body.dataset.page !== "explorer" || !root.getElementById("filters")) return;
  start(root);
  // Back or forward to another query: load it as the URL says (a skip link's #main stays put).
  window.addEventListener("popstate", () => {
    if (withoutHash(window.location.href) !== shown) window.location.reload();
  });
}
