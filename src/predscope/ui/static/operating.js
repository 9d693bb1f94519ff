// The summary's confidence slider: precision, recall, F1 and counts at "confidence >= cut",
// computed from the per-class cumulative counts the server embedded (#operating-data).
function fmt(v) {
  return Number.isFinite(v) ? v.toFixed(3) : "n/a";
}

function scoreText(v) {
  return Math.abs(v) >= 100 ? v.toFixed(0) : Number(v.toPrecision(4)).toString();
}

function measures(tp, fp, gt) {
  const p = tp + fp ? tp / (tp + fp) : NaN;
  const r = gt ? tp / gt : NaN;
  const f1 = tp ? (2 * p * r) / (p + r) : 0;
  return { p, r, f1 };
}

export function initOperating(root) {
  const data = root.getElementById ? root.getElementById("operating-data") : null;
  const slider = root.querySelector("#op-conf");
  if (!data || !slider) return;
  const op = JSON.parse(data.textContent);
  const n = op.cuts.length;
  const output = root.querySelector("#op-conf-value");
  const readout = (name, text) => {
    const el = root.querySelector(`[data-op='${name}']`);
    if (el) el.textContent = text;
  };
  const setCell = (row, col, text, value) => {
    const cell = row.querySelector(`td[data-col='${col}']`);
    if (!cell) return;
    cell.dataset.value = String(value);
    const target = cell.querySelector("a") || cell;
    target.textContent = text;
  };
  const update = (moved) => {
    if (!n) return;
    const i = n - 1 - Number(slider.value);
    output.textContent = scoreText(op.cuts[i]);
    let TP = 0, FP = 0, GT = 0;
    for (const c of op.classes) {
      const tp = c.tp[i] || 0, fp = c.fp[i] || 0;
      TP += tp; FP += fp; GT += c.num_gt;
      if (!moved) continue;
      const row = root.querySelector(`table.classes tr[data-class='${CSS.escape(c.name)}']`);
      if (!row) continue;
      const m = measures(tp, fp, c.num_gt);
      setCell(row, "precision", fmt(m.p), m.p);
      setCell(row, "recall", fmt(m.r), m.r);
      setCell(row, "f1", fmt(m.f1), m.f1);
      setCell(row, "tp", String(tp), tp);
      setCell(row, "fp", String(fp), fp);
      setCell(row, "fn", String(c.num_gt - tp), c.num_gt - tp);
    }
    const m = measures(TP, FP, GT);
    readout("precision", fmt(m.p));
    readout("recall", fmt(m.r));
    readout("f1", fmt(m.f1));
    readout("tp", String(TP));
    readout("fp", String(FP));
    readout("fn", String(GT - TP));
    if (moved) {
      const basis = root.querySelector("[data-testid='class-table-basis']");
      if (basis) basis.textContent = `(at confidence ≥ ${scoreText(op.cuts[i])}, IoU ${op.iou.toFixed(2)})`;
    }
  };
  slider.addEventListener("input", () => update(true));
  update(false);
}
