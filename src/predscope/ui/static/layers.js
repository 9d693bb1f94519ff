// Layer toggles, label toggle and the confidence slider: they only switch `hidden` and classes.
import { getParam, setParam } from "./url.js";

function hiddenSet() {
  const raw = getParam("hide");
  return new Set(raw ? raw.split(",").filter(Boolean) : []);
}

function applyLayer(root, layer, visible) {
  for (const g of root.querySelectorAll(`svg.overlay g.layer[data-layer="${layer}"]`)) {
    g.toggleAttribute("hidden", !visible); // SVG elements have no `hidden` property
  }
}

function applyLabels(root, visible) {
  root.body.classList.toggle("hide-labels", !visible);
}

// Hide predictions scoring below `conf`; refresh each tile's TP/FP badges to what is drawn.
export function applyConfidence(root, conf) {
  for (const obj of root.querySelectorAll("svg.overlay g.obj[data-score]")) {
    obj.classList.toggle("below-conf", Number(obj.dataset.score) < conf);
  }
  for (const tile of root.querySelectorAll(".tile")) {
    for (const outcome of ["tp", "fp"]) {
      const badge = tile.querySelector(`.badge[data-count="${outcome}"]`);
      if (!badge) continue;
      const n = tile.querySelectorAll(
        `g.obj.pred[data-outcome="${outcome}"]:not(.below-conf)`,
      ).length;
      // Unchanged text is left alone: writing it anyway would lay the page out again.
      if (badge.textContent !== String(n)) badge.textContent = String(n);
      badge.toggleAttribute("data-zero", n === 0);
    }
    const fn = tile.querySelector('.badge[data-count="fn"]');
    if (fn) fn.toggleAttribute("data-zero", fn.textContent.trim() === "0");
  }
  for (const row of root.querySelectorAll("table.objects tr[data-score]")) {
    row.classList.toggle("below-conf", Number(row.dataset.score) < conf);
  }
}

export function initLayers(root) {
  const hidden = hiddenSet();
  const save = () => setParam("hide", [...hidden].sort().join(","));
  for (const box of root.querySelectorAll("input[data-layer-toggle]")) {
    const layer = box.dataset.layerToggle;
    box.checked = !hidden.has(layer);
    applyLayer(root, layer, box.checked);
    box.addEventListener("change", () => {
      applyLayer(root, layer, box.checked);
      if (box.checked) hidden.delete(layer);
      else hidden.add(layer);
      save();
    });
  }
  for (const box of root.querySelectorAll("input[data-labels-toggle]")) {
    box.checked = !hidden.has("labels");
    applyLabels(root, box.checked);
    box.addEventListener("change", () => {
      applyLabels(root, box.checked);
      if (box.checked) hidden.delete("labels");
      else hidden.add("labels");
      save();
    });
  }
  const slider = root.getElementById("conf");
  if (slider) {
    const output = root.getElementById("conf-value");
    const fromUrl = getParam("conf");
    if (fromUrl !== null && Number.isFinite(Number(fromUrl))) slider.value = fromUrl;
    const update = (persist) => {
      const conf = Number(slider.value);
      applyConfidence(root, conf);
      if (output) output.value = String(Number(conf.toPrecision(4)));
      if (persist) setParam("conf", conf > Number(slider.min) ? slider.value : null);
    };
    slider.addEventListener("input", () => update(true));
    update(false);
  }
}
