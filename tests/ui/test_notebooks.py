"""Every lab notebook runs top to bottom in a real kernel (nbclient), and shows what it says it shows."""
import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

# text each notebook's outputs must contain
EXPECTED = {
    "00-start-here": [],
    "01-handshake-step-by-step": ["Step 1: client → server: ClientHello", "same bytes: True",
                                  "The server now decrypts what the client sends with handshake keys"],
    "02-tickets-and-resumption": ["resumed: True with ticket T", "early data offered: True accepted: True"],
    "03-key-updates-and-renegotiation": ["client->server -> application-2 (requested)", "server->client -> application-1",
                                         "renegotiation by the client -> completed", "['refused']"],
    "04-replay-a-capture": ["our-run.pcapng", "records in"],
}


def _text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        for value in output.get("data", {}).values():
            parts.append(value if isinstance(value, str) else json.dumps(value))
    return "".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path, tmp_path):
    copy = tmp_path / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(nb, kernel_name="python3", timeout=240, store_widget_state=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors[0].get("evalue") if errors else ""
    text = "".join(_text(c) for c in nb.cells)
    for expected in EXPECTED.get(path.stem, []):
        assert expected in text, expected
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if "Workbench(" in "".join(c.source for c in nb.cells if c.cell_type == "code"):
        classes = [c for model in state.values() for c in model.get("state", {}).get("_dom_classes", [])]
        assert "wb-app" in classes and "wb-packet-list-widget" in classes


def test_every_lab_is_tested():
    assert {p.stem for p in NOTEBOOKS} == set(EXPECTED)
