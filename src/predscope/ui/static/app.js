// predscope UI entry point: starts each feature present on the page and reports failures visibly.
import { initLayers } from "./layers.js";
import { initKeys } from "./keys.js";
import { initZoom } from "./zoom.js";
import { initScrubber } from "./scrubber.js";
import { initSort } from "./sort.js";
import { initLabels } from "./labels.js";
import { initRun } from "./run.js";
import { initOperating } from "./operating.js";
import { initInterval } from "./interval.js";
import { initFilters } from "./filters.js";

const notice = document.getElementById("js-notice");

function fail(message) {
  if (!notice) return;
  notice.textContent = `Part of this page's script failed (${message}); reload the page. Links and forms still work.`;
  notice.hidden = false;
  notice.classList.add("failed");
}

window.addEventListener("error", (event) => fail(event.message || "error"));
window.addEventListener("unhandledrejection", (event) => fail(String(event.reason)));

function start() {
  const features = [initLayers, initLabels, initZoom, initScrubber, initSort, initRun, initOperating, initInterval, initFilters, initKeys];
  let ok = true;
  for (const init of features) {
    try {
      init(document);
    } catch (err) {
      ok = false;
      fail(`${init.name}: ${err && err.message ? err.message : err}`);
    }
  }
  if (ok && notice) notice.hidden = true;
  document.body.dataset.ready = "true";
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
