// Sortable tables: a button in each heading sorts the body by that column (numbers by data-value).
export function initSort(root) {
  for (const table of root.querySelectorAll("table.sortable")) {
    const heads = [...table.tHead.rows[0].cells];
    heads.forEach((th, col) => {
      const button = th.querySelector("button[data-sort]");
      if (!button) return;
      button.addEventListener("click", () => {
        const numeric = button.dataset.sort === "number";
        const dir = th.getAttribute("aria-sort") === "descending" ? "ascending" : "descending";
        for (const other of heads) other.removeAttribute("aria-sort");
        th.setAttribute("aria-sort", dir);
        const body = table.tBodies[0];
        const key = (row) => {
          const cell = row.cells[col];
          if (!cell) return numeric ? -Infinity : "";
          const raw = cell.dataset.value ?? cell.textContent.trim();
          if (!numeric) return raw.toLowerCase();
          const n = Number(raw);
          return raw === "" || !Number.isFinite(n) ? -Infinity : n;
        };
        const rows = [...body.rows].sort((a, b) => {
          const ka = key(a), kb = key(b);
          const c = ka < kb ? -1 : ka > kb ? 1 : 0;
          return dir === "ascending" ? c : -c;
        });
        body.append(...rows);
      });
    });
  }
}
