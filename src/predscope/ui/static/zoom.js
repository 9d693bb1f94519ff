// Zoom (wheel, buttons, keys) and pan (drag) on the detail viewer, by a CSS transform of the stage.
import { fitLabels } from "./labels.js";

const MIN = 1, MAX = 32;
const state = new WeakMap();

function parts(root) {
  const viewer = root.querySelector(".viewer");
  const stage = viewer && viewer.querySelector(".stage");
  return stage ? { viewer, stage } : null;
}

function apply(stage, s) {
  // Keep the image covering the viewer: no panning past its edges.
  const w = stage.clientWidth, h = stage.clientHeight;
  s.x = Math.min(0, Math.max(w - w * s.scale, s.x));
  s.y = Math.min(0, Math.max(h - h * s.scale, s.y));
  stage.style.transform = `translate(${s.x}px, ${s.y}px) scale(${s.scale})`;
  stage.dataset.zoom = String(Math.round(s.scale * 1000) / 1000);
  fitLabels(stage);
}

function get(stage) {
  if (!state.has(stage)) state.set(stage, { scale: 1, x: 0, y: 0 });
  return state.get(stage);
}

// Zoom by `factor` about a point of the viewer (its centre by default).
export function zoomBy(root, factor, px, py) {
  const p = parts(root);
  if (!p) return false;
  const s = get(p.stage);
  const cx = px ?? p.stage.clientWidth / 2, cy = py ?? p.stage.clientHeight / 2;
  const next = Math.min(MAX, Math.max(MIN, s.scale * factor));
  s.x = cx - (cx - s.x) * (next / s.scale);
  s.y = cy - (cy - s.y) * (next / s.scale);
  s.scale = next;
  apply(p.stage, s);
  return true;
}

export function resetZoom(root) {
  const p = parts(root);
  if (!p) return;
  Object.assign(get(p.stage), { scale: 1, x: 0, y: 0 });
  apply(p.stage, get(p.stage));
}

export function isZoomed(root) {
  const p = parts(root);
  return Boolean(p) && get(p.stage).scale > 1;
}

export function initZoom(root) {
  const p = parts(root);
  if (!p) return;
  const { viewer, stage } = p;
  viewer.addEventListener("wheel", (event) => {
    event.preventDefault();
    const box = viewer.getBoundingClientRect();
    zoomBy(root, event.deltaY < 0 ? 1.2 : 1 / 1.2, event.clientX - box.left, event.clientY - box.top);
  }, { passive: false });
  let drag = null;
  viewer.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 || event.target.closest("button")) return;
    const s = get(stage);
    drag = { id: event.pointerId, x: event.clientX - s.x, y: event.clientY - s.y };
    viewer.setPointerCapture(event.pointerId);
    viewer.classList.add("panning");
  });
  viewer.addEventListener("pointermove", (event) => {
    if (!drag || drag.id !== event.pointerId) return;
    const s = get(stage);
    s.x = event.clientX - drag.x;
    s.y = event.clientY - drag.y;
    apply(stage, s);
  });
  const end = () => { drag = null; viewer.classList.remove("panning"); };
  viewer.addEventListener("pointerup", end);
  viewer.addEventListener("pointercancel", end);
  for (const button of viewer.querySelectorAll("button[data-zoom]")) {
    button.addEventListener("click", () => {
      const how = button.dataset.zoom;
      if (how === "reset") resetZoom(root);
      else zoomBy(root, how === "in" ? 1.25 : 0.8);
    });
  }
}
