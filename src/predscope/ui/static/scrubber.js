// Frame scrubber for video units: shows one frame's image, overlay and object rows at a time.
// The slider moves through the page's frames by position; a long video carries only its frames
// with objects, so the frame number (the URL's `frame`, the readout) is each overlay's own.
import { setParam, getParam } from "./url.js";
import { fitLabels } from "./labels.js";

function show(root, position) {
  const slider = root.getElementById("frame");
  const overlays = [...root.querySelectorAll(".frame-overlay")];
  const shown = overlays[position];
  if (!shown) return null;
  overlays.forEach((o, i) => { o.hidden = i !== position; });
  const img = root.querySelector('[data-testid="frame-image"]');
  if (img && img.getAttribute("src") !== shown.dataset.src) img.setAttribute("src", shown.dataset.src);
  fitLabels(shown);
  const frame = shown.dataset.frame;
  for (const row of root.querySelectorAll("tr[data-in-frame]")) row.hidden = row.dataset.inFrame !== frame;
  const caption = root.querySelector(".table-frame");
  if (caption) caption.textContent = frame;
  slider.value = String(position);
  slider.setAttribute("aria-valuetext", `frame ${frame}`);
  const out = root.getElementById("frame-value");
  if (out) out.value = frame;
  return frame;
}

export function stepFrame(root, delta) {
  const slider = root.getElementById("frame");
  if (!slider) return false;
  const next = Math.min(Number(slider.max), Math.max(Number(slider.min), Number(slider.value) + delta));
  setParam("frame", show(root, next));
  return true;
}

export function initScrubber(root) {
  const slider = root.getElementById("frame");
  if (!slider) return;
  const start = getParam("frame");
  const overlays = [...root.querySelectorAll(".frame-overlay")];
  const at = overlays.findIndex((o) => o.dataset.frame === start);
  if (at >= 0) show(root, at);
  slider.addEventListener("input", () => setParam("frame", show(root, Number(slider.value))));
}
