// Keys: arrows for previous/next, Escape, `?` for help, g/p/l for the layer and label toggles.
import { navigate } from "./url.js";
import { resetZoom, zoomBy, isZoomed } from "./zoom.js";
import { stepFrame } from "./scrubber.js";

// A slider keeps only the keys that move it: after dragging the frame scrubber, "." still steps.
const SLIDER_KEYS = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"];

function typing(target, key) {
  if (!(target instanceof Element)) return false;
  if (target.closest("textarea, select, [contenteditable]")) return true;
  if (!(target instanceof HTMLInputElement)) return false;
  if (target.type === "range") return SLIDER_KEYS.includes(key);
  return !["checkbox", "radio", "button", "submit"].includes(target.type);
}

function follow(root, rel) {
  const link = root.querySelector(`a[rel="${rel}"]`);
  if (link) navigate(link.href);
  return Boolean(link);
}

export function toggleHelp(root) {
  const help = root.getElementById("help");
  if (!help) return;
  if (help.open) help.close();
  else help.showModal();
}

export function initKeys(root) {
  for (const button of root.querySelectorAll('[data-action="help"]')) {
    button.addEventListener("click", () => toggleHelp(root));
  }
  root.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (typing(event.target, event.key)) return;
    const help = root.getElementById("help");
    if (help && help.open) return; // the dialog handles its own keys (Escape closes it)
    let handled = true;
    switch (event.key) {
      case "ArrowLeft": handled = follow(root, "prev"); break;
      case "ArrowRight": handled = follow(root, "next"); break;
      case "?": toggleHelp(root); break;
      case "Escape":
        if (isZoomed(root)) resetZoom(root);
        else handled = follow(root, "up");
        break;
      case "+": case "=": handled = zoomBy(root, 1.25); break;
      case "-": handled = zoomBy(root, 0.8); break;
      case "0": handled = isZoomed(root); resetZoom(root); break;
      case ",": handled = stepFrame(root, -1); break;
      case ".": handled = stepFrame(root, 1); break;
      default: {
        const box = root.querySelector(`input[data-key="${event.key}"]`);
        if (box) box.click();
        else handled = false;
      }
    }
    if (handled) event.preventDefault();
  });
}
