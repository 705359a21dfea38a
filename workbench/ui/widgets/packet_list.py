"""The packet list: a table of one page of records, where a click (or the arrow keys) selects a record.

Python decides which page is on screen and sends only its rows (`rows`); the browser draws them and
sends back `selected` (a timeline record index). With 100,000 records the page is still 100 rows.
Clicking is the one interaction plain ipywidgets cannot do on a rich table, hence this small anywidget.
"""
from __future__ import annotations

import anywidget
import traitlets

_ESM = r"""
const COLUMNS = [["index", "No."], ["time", "Time"], ["dir", "Dir"], ["content", "Content"],
                 ["details", "Details"], ["epoch", "Epoch"], ["seq", "Seq"], ["length", "Len"]];

function render({ model, el }) {
  el.classList.add("wb-packet-list");
  const wrap = document.createElement("div");
  wrap.className = "wb-packet-scroll";
  wrap.tabIndex = 0;
  const table = document.createElement("table");
  table.className = "wb-packet-table";
  const head = document.createElement("thead");
  const headRow = document.createElement("tr");
  for (const [, title] of COLUMNS) {
    const th = document.createElement("th");
    th.textContent = title;
    headRow.appendChild(th);
  }
  head.appendChild(headRow);
  const body = document.createElement("tbody");
  table.append(head, body);
  wrap.appendChild(table);
  el.appendChild(wrap);

  function select(index) {
    model.set("selected", index);
    model.save_changes();
  }

  function draw() {
    const rows = model.get("rows");
    const selected = model.get("selected");
    body.replaceChildren();
    if (rows.length === 0) {
      const tr = document.createElement("tr");
      const td = document.createElement("td");
      td.colSpan = COLUMNS.length;
      td.className = "wb-packet-empty";
      td.textContent = model.get("empty_text");
      tr.appendChild(td);
      body.appendChild(tr);
      return;
    }
    for (const row of rows) {
      const tr = document.createElement("tr");
      tr.className = row.classes + (row.index === selected ? " wb-selected" : "");
      tr.dataset.index = String(row.index);
      for (const [key] of COLUMNS) {
        const td = document.createElement("td");
        td.className = "wb-col-" + key;
        if (key === "epoch") {
          const chip = document.createElement("span");
          chip.className = "wb-chip";
          chip.style.background = row.colour;
          chip.textContent = row.epoch;
          td.appendChild(chip);
        } else if (key === "details") {
          td.textContent = row.details;
          for (const badge of row.badges) {
            const b = document.createElement("span");
            b.className = "wb-badge";
            b.textContent = badge;
            td.appendChild(b);
          }
        } else {
          td.textContent = String(row[key]);
        }
        tr.appendChild(td);
      }
      tr.addEventListener("click", () => select(row.index));
      body.appendChild(tr);
    }
    const current = body.querySelector(".wb-selected");
    if (current && model.get("scroll_to_selected")) {
      current.scrollIntoView({ block: "nearest" });
    } else if (model.get("follow")) {
      wrap.scrollTop = wrap.scrollHeight;
    }
  }

  wrap.addEventListener("keydown", (event) => {
    const selected = model.get("selected");
    const total = model.get("total");
    if (event.key === "ArrowDown" && selected + 1 < total) {
      select(selected + 1);
      event.preventDefault();
    } else if (event.key === "ArrowUp" && selected > 0) {
      select(selected - 1);
      event.preventDefault();
    }
  });
  model.on("change:rows", draw);
  model.on("change:selected", draw);
  draw();
}
export default { render };
"""


class PacketList(anywidget.AnyWidget):
    _esm = _ESM
    rows = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Int(-1).tag(sync=True)
    total = traitlets.Int(0).tag(sync=True)
    follow = traitlets.Bool(False).tag(sync=True)
    scroll_to_selected = traitlets.Bool(True).tag(sync=True)
    empty_text = traitlets.Unicode("No records yet.").tag(sync=True)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.add_class("wb-packet-list-widget")

    def click(self, index: int) -> None:
        """What a click on the row of record `index` does (for tests and notebooks)."""
        self.selected = index
