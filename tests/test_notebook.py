"""examples/jupyter_dsp.ipynb runs top to bottom against the session's private server."""

import pathlib

import pytest

HERE = pathlib.Path(__file__).resolve().parent
NOTEBOOK = HERE.parent / "examples" / "jupyter_dsp.ipynb"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_the_notebook_runs_and_saves_its_figures(jack_server, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="pip install 'pyjack-rt[notebook]'")
    nbclient = pytest.importorskip("nbclient", reason="pip install 'pyjack-rt[notebook]'")
    monkeypatch.setenv("PYJACK_FIGURES", str(tmp_path / "figures"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    names = sorted(p.name for p in (tmp_path / "figures").glob("*.png"))
    assert names == ["impulse_response.png", "midi_synth.png", "spectrum.png", "waveform.png"]
    for name in names:
        data = (tmp_path / "figures" / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 5000, name
    outputs = "".join(out.get("text", "") for cell in notebook.cells if cell.cell_type == "code"
                      for out in cell.get("outputs", []))
    assert "frames taken" in outputs
