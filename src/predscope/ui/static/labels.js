// Keeps overlay labels at one size on screen, whatever the image's size, the tile or the zoom.
const LABEL_PX = 12;

export function fitLabels(root) {
  // Reads and writes in separate passes: a read after a write forces a layout, and one layout
  // per label made this the costliest part of a grid page's start (48 crops, a label each).
  const fitted = [];
  for (const svg of root.querySelectorAll("svg.overlay")) {
    const vb = svg.viewBox.baseVal;
    const box = svg.getBoundingClientRect();
    if (!vb || !vb.width || !box.width) continue;
    const size = LABEL_PX / Math.min(box.width / vb.width, box.height / vb.height);
    for (const label of svg.querySelectorAll("text.label")) fitted.push({ label, vb, size });
  }
  for (const { label, vb, size } of fitted) {
    const top = Number(label.dataset.top);
    const inside = label.dataset.place === "inside" || top - size * 0.3 < vb.y + size;
    label.setAttribute("font-size", String(size));
    label.setAttribute("stroke-width", String(size / 5));
    label.setAttribute("y", String(inside ? top + size * 1.05 : top - size * 0.3));
  }
  for (const item of fitted) item.width = item.label.getComputedTextLength(); // one layout
  for (const { label, vb, width } of fitted) {
    // Keep the label inside the image: shift it left when it would run off the right edge.
    const left = Number(label.dataset.left) + 1;
    label.setAttribute("x", String(Math.max(vb.x, Math.min(left, vb.x + vb.width - width - 1))));
  }
}

export function initLabels(root) {
  fitLabels(root);
  let pending = false;
  window.addEventListener("resize", () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; fitLabels(root); });
  });
  // Images that load late change nothing (the SVG box is the tile's), but a font may reflow.
  document.fonts?.ready?.then(() => fitLabels(root));
}
