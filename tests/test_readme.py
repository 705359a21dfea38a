"""The README's Python examples run as written (in a scratch folder: they write PEM files)."""
import re
import shutil
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize("index", range(len(EXAMPLES)))
def test_readme_example_runs(index, tmp_path, monkeypatch):
    code = EXAMPLES[index]
    if "OpenSSLServer" in code and shutil.which("openssl") is None:
        pytest.skip("the example starts openssl, which is not installed")
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md example {index + 1}", "exec"), {"__name__": "readme_example"})
