// Frame scrubber for video units: shows one frame's image and overlay at a time.
import { setParam, getParam } from "./url.js";
import { fitLabels } from "./labels.js";

function show(root, index) {
  const slider = root.getElementById("frame");
  const overlays = root.querySelectorAll(".frame-overlay");
  let shown = null;
  for (const o of overlays) {
    const here = Number(o.dataset.frame) === index;
    o.hidden = !here;
    if (here) shown = o;
  }
  if (!shown) return;
  const img = root.querySelector('[data-testid="frame-image"]');
  if (img && img.getAttribute("src") !== shown.dataset.src) img.setAttribute("src", shown.dataset.src);
  fitLabels(shown);
  slider.value = String(index);
  const out = root.getElementById("frame-value");
  if (out) out.value = String(index);
}

export function stepFrame(root, delta) {
  const slider = root.getElementById("frame");
  if (!slider) return false;
  const next = Math.min(Number(slider.max), Math.max(Number(slider.min), Number(slider.value) + delta));
  show(root, next);
  setParam("frame", String(next));
  return true;
}

export function initScrubber(root) {
  const slider = root.getElementById("frame");
  if (!slider) return;
  const start = getParam("frame");
  if (start !== null && Number.isInteger(Number(start))) show(root, Number(start));
  slider.addEventListener("input", () => {
    show(root, Number(slider.value));
    setParam("frame", slider.value);
  });
}
