"""The public API of ``metacascade/__init__.py``: its docstring examples run, every name in
``__all__`` resolves, and ``import metacascade`` stays cheap."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest

import metacascade as mc


def test_the_docstring_examples_run():
    """Every example of the public API (module and function docstrings) is a doctest."""
    result = doctest.testmod(mc, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.attempted >= 20
    assert result.failed == 0


def test_the_error_and_validation_type_examples_run():
    """The examples of the errors (metacascade.errors) and of the validation result types."""
    import metacascade.errors
    import metacascade.validation

    for module in (metacascade.errors, metacascade.validation):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
        assert result.attempted >= 5 and result.failed == 0, module.__name__


def test_the_run_result_types_in_use():
    """Examples of the result types whose modules are under other work: a deterministic
    ``RunResult``, a ``StochasticRunResult`` and their tables."""
    det = mc.run(mc.parse_scenario('[patient]\ncancer = "colon"\n[engine]\nhorizon_days = 730'))
    assert isinstance(det, mc.RunResult)
    assert set(det.dataset.dims) >= {"time_days", "organ", "size_cells"}
    assert list(det.timeseries().columns[:3]) == ["time_days", "primary_cells", "primary_diameter_mm"]
    assert {"organ", "size_diameter_mm", "n_above"} <= set(det.size_distribution().columns)
    sto = mc.run(
        mc.parse_scenario(
            '[patient]\ncancer = "colon"\n[engine]\nkind = "stochastic"\nn_patients = 100\nhorizon_days = 730'
        )
    )
    assert isinstance(sto, mc.StochasticRunResult)
    assert len(sto.patients()) == 100 and {"patient", "organ", "founded_day"} <= set(sto.colonies().columns)
    assert {"patient", "day", "event"} <= set(sto.events().columns)


def test_the_one_liner_of_the_readme_works():
    code = "import metacascade as mc; mc.run(mc.parse_scenario('[patient]\\ncancer = \"breast_er_positive\"'))"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", mc.__all__)
def test_every_public_name_resolves_and_is_documented(name):
    obj = getattr(mc, name)
    if name != "__version__":
        assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_result_types_and_errors_are_the_defining_modules_objects():
    from metacascade.errors import MetacascadeError
    from metacascade.scenario import Scenario
    from metacascade.workflows.cohort import CohortError
    from metacascade.workflows.run import RunResult

    assert mc.Scenario is Scenario and mc.RunResult is RunResult and mc.CohortError is CohortError
    assert issubclass(mc.CohortError, mc.MetacascadeError) and mc.MetacascadeError is MetacascadeError
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        mc.nope  # noqa: B018


def test_run_writes_a_run_folder_and_takes_a_path(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[patient]\ncancer = "hcc_iwata2000"\n[output]\nfigure = false\n', encoding="utf-8")
    result = mc.run(path, out=tmp_path / "out")
    assert isinstance(result, mc.RunResult)
    assert {"summary.json", "scenario.toml"} <= {p.name for p in (tmp_path / "out").iterdir()}
    with pytest.raises(mc.ScenarioError, match="not found"):
        mc.run(tmp_path / "missing.toml")


@pytest.mark.parametrize("kind", ["deterministic", "stochastic"])
def test_run_checks_its_output_folder_before_computing(tmp_path, monkeypatch, kind):
    import metacascade.workflows.run as wr
    import metacascade.workflows.stochastic_run as ws

    def never(*args, **kwargs):
        raise AssertionError("computed before the output folder was checked")

    monkeypatch.setattr(wr, "run_scenario", never)
    monkeypatch.setattr(ws, "run_stochastic", never)
    a_file = tmp_path / "a_file"
    a_file.write_text("x", encoding="utf-8")
    sc = mc.parse_scenario(f'[patient]\ncancer = "hcc_iwata2000"\n[engine]\nkind = "{kind}"\n')
    with pytest.raises(mc.MetacascadeError, match="a_file"):
        mc.run(sc, out=a_file)


def test_run_cohort_takes_a_scenario_object(tmp_path):
    sc = mc.parse_scenario(
        '[patient]\ncancer = "breast_er_negative"\n[cohort]\nn_patients = 20\nchunk_size = 20\n'
        'follow_up_days = 1000\n[[cohort.arm]]\nname = "control"\n'
    )
    trial = mc.run_cohort(sc, tmp_path / "trial", figures=False)
    assert len(trial.patients()) == 20 and trial.manifest["status"] == "complete"


def test_import_metacascade_is_fast():
    """``import metacascade`` imports no scientific stack: measured ~15 ms (python -X importtime);
    bound 0.5 s of wall time for a loaded CI machine, against ~1.5 s for the scenario layer."""
    code = "import time; t = time.perf_counter(); import metacascade; print(time.perf_counter() - t)"
    seconds = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert seconds < 0.5


def _python_blocks(page: str) -> list[str]:
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_api_page_examples_of_the_lower_layers_run():
    """The model/engine examples of docs/api.md (the README's former Python API section) run as
    written, in one namespace as a reader would type them."""
    namespace: dict = {}
    blocks = _python_blocks("api.md")
    for code in blocks[1:4]:  # the deterministic engine, the body graph, virtual patients
        exec(compile(code, "docs/api.md", "exec"), namespace)
    assert namespace["sol"].n_above(800.0, [1e6]).shape == (1,)
    assert len(namespace["rt"].primary) == len(namespace["body"].organs)
    assert namespace["mean"].shape == namespace["se"].shape
