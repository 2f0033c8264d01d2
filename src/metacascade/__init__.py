"""metacascade: a mechanistic simulator of distant metastasis.

The public API is this module: a scenario is read by ``load_scenario`` or
``parse_scenario``, run by ``run`` (one patient, or virtual patients with the stochastic
engine) or ``run_cohort`` (a virtual trial), and its references are listed by
``citation``. ``calibrate`` fits a mechanistic model to a data file and ``validate``
runs a validation case. Every error raised on purpose is a ``MetacascadeError``.

``import metacascade`` is cheap: the functions import the workflow they call when they are
called, and the result types (``Scenario``, ``RunResult``,
``StochasticRunResult``, ``CohortRun``, ``ValidationReport``,
``ValidationRow``) are loaded on first access.

Examples
--------
>>> import metacascade as mc
>>> scenario = mc.parse_scenario('[patient]\\ncancer = "breast_er_positive"')
>>> result = mc.run(scenario)
>>> result.summary["cancer"], result.summary["engine"]
('breast_er_positive', 'deterministic')
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from metacascade.errors import (
    CalibrationError,
    DataError,
    MetacascadeError,
    ParameterError,
    ScenarioError,
    SimulationError,
)

if TYPE_CHECKING:
    __version__: str

    from metacascade.scenario import Scenario
    from metacascade.validation import ValidationReport, ValidationRow
    from metacascade.workflows.cohort import CohortError, CohortRun
    from metacascade.workflows.run import RunResult
    from metacascade.workflows.stochastic_run import StochasticRunResult

__all__ = [
    "__version__",
    # functions
    "load_scenario",
    "parse_scenario",
    "run",
    "run_cohort",
    "calibrate",
    "validate",
    "citation",
    # result types
    "Scenario",
    "RunResult",
    "StochasticRunResult",
    "CohortRun",
    "ValidationReport",
    "ValidationRow",
    # errors
    "MetacascadeError",
    "ScenarioError",
    "ParameterError",
    "SimulationError",
    "CalibrationError",
    "DataError",
    "CohortError",
]

#: Result types loaded on first access (``metacascade.RunResult``...): name -> defining module.
_LAZY = {
    "Scenario": "metacascade.scenario",
    "RunResult": "metacascade.workflows.run",
    "StochasticRunResult": "metacascade.workflows.stochastic_run",
    "CohortRun": "metacascade.workflows.cohort",
    "CohortError": "metacascade.workflows.cohort",
    "ValidationReport": "metacascade.validation",
    "ValidationRow": "metacascade.validation",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata costs ~40 ms: read on first use
        from metacascade._version import package_version

        globals()["__version__"] = value = package_version()
        return value
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'metacascade' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path : str or path-like
        A TOML scenario file (sections ``[patient]``, ``[model]``, ``[host]``, ``[engine]``,
        ``[output]``, ``[[treatment]]``, ``[cohort]``, ``[population]``; see the scenario
        reference in the documentation).

    Returns
    -------
    Scenario
        The validated, frozen scenario: the patient, the model built from the cancer preset and
        the overrides, the organs and routing, the engine and output settings.

    Raises
    ------
    ScenarioError
        The file is missing or unreadable, not valid TOML, or a value is invalid; the message
        names the file, the field, the value received and what is allowed.

    See Also
    --------
    parse_scenario : the same from the file's text.

    Examples
    --------
    >>> import metacascade as mc, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "colon.toml"
    >>> _ = path.write_text('[patient]\\ncancer = "colon"\\nprimary_diameter_mm = 30\\n')
    >>> scenario = mc.load_scenario(path)
    >>> scenario.patient.cancer, scenario.patient.primary_diameter_mm
    ('colon', 30.0)
    """
    from metacascade.scenario import load_scenario as _load

    return _load(path)


def parse_scenario(text: str, source: str = "<scenario>") -> Scenario:
    """Validate the TOML text of a scenario.

    Parameters
    ----------
    text : str
        The content of a scenario file. Everything not given takes the cancer preset's value
        (``[patient] cancer``; the default is Iwata's hepatocellular carcinoma patient).
    source : str, optional
        The name used in error messages (a file name, a form).

    Returns
    -------
    Scenario
        The validated, frozen scenario.

    Raises
    ------
    ScenarioError
        Broken TOML, an unknown key (with a "did you mean" hint), a value out of range or an
        unknown preset; the message names the field, the value and what is allowed.

    Examples
    --------
    >>> import metacascade as mc
    >>> sc = mc.parse_scenario('[patient]\\ncancer = "lung_nsclc"\\nprimary_diameter_mm = 25')
    >>> sc.engine.kind, "brain" in sc.organs
    ('deterministic', True)
    >>> mc.parse_scenario('[patient]\\ncancer = "brest"')  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.ScenarioError: <scenario>: patient.cancer: unknown preset 'brest'; allowed: ...
    """
    from metacascade.scenario import parse_scenario as _parse

    return _parse(text, source)


def run(
    scenario: Scenario | str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    progress: Callable[[int], None] | None = None,
) -> RunResult | StochasticRunResult:
    """Run one scenario with the engine it names.

    With ``[engine] kind = "deterministic"`` (the default) the result is the expected size
    distribution of metastases in every organ (Iwata 2000, organ-resolved) and, for whole-body
    presets, the population-averaged state at diagnosis. With ``kind = "stochastic"`` it is
    ``n_patients`` virtual patients, each one realisation of the same process, with their
    treatment plan.

    Parameters
    ----------
    scenario : Scenario, str or path-like
        A scenario from ``parse_scenario`` / ``load_scenario``, or the path of a
        scenario file.
    out : str or path-like, optional
        A folder to write the run into, as ``metacascade run --out`` does: the tables
        (Parquet or CSV), ``summary.json``, the resolved ``scenario.toml`` and the figures.
        Nothing is written when it is omitted.
    progress : callable, optional
        Stochastic engine only: called with the number of patients done.

    Returns
    -------
    RunResult or StochasticRunResult
        ``summary`` (a JSON-ready dict), ``dataset`` (an ``xarray.Dataset`` over
        ``time_days`` since diagnosis, ``organ`` and ``size_cells``) and table methods
        (``organs()``, ``size_distribution()``; ``patients()``, ``colonies()``, ``events()``
        for virtual patients).

    Raises
    ------
    ScenarioError
        When ``scenario`` is a path that cannot be read or validated.
    SimulationError
        When an engine cannot compute a result.

    Examples
    --------
    >>> import metacascade as mc
    >>> result = mc.run(mc.parse_scenario('[patient]\\ncancer = "breast_er_positive"'))
    >>> organs = result.organs()
    >>> list(organs.columns[:4])
    ['time_days', 'organ', 'n_metastases', 'n_detectable']
    >>> bool(0.0 < result.summary["population_at_diagnosis"]["p_detectable_distant_metastasis"] < 1.0)
    True

    Virtual patients:

    >>> sc = mc.parse_scenario('[patient]\\ncancer = "breast_er_positive"\\n'
    ...                        '[engine]\\nkind = "stochastic"\\nn_patients = 200\\nhorizon_days = 1825')
    >>> patients = mc.run(sc).patients()
    >>> len(patients)
    200
    """
    from metacascade.scenario import Scenario as _Scenario

    sc = scenario if isinstance(scenario, _Scenario) else load_scenario(scenario)
    if out is not None:  # before computing: a file, an unwritable path or a folder of another kind
        from metacascade.workflows.run import check_run_folder

        check_run_folder(out)
    if sc.engine.kind == "stochastic":
        from metacascade.workflows.stochastic_run import run_stochastic, write_stochastic_results

        stochastic = run_stochastic(sc, progress=progress, written=out is not None)
        if out is not None:
            write_stochastic_results(stochastic, out)
        return stochastic
    from metacascade.workflows.run import run_scenario, write_results

    result = run_scenario(sc)
    if out is not None:
        write_results(result, out)
    return result


def run_cohort(
    scenario: Scenario | str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    figures: bool = True,
) -> CohortRun:
    """Run (or resume) a virtual trial: every patient of the ``[cohort]`` in every arm.

    Patient ``i`` has its own parameters, drawn from ``[cohort.vary]``, and its own random
    streams; it is simulated once in each arm (``[[cohort.arm]]``, a treatment plan) with common
    random numbers, so arm differences are the treatment's. Results are bit-identical serial,
    on threads or on a dask cluster.

    Parameters
    ----------
    scenario : Scenario, str or path-like
        A scenario with a ``[cohort]`` section: a ``Scenario``, a path, or TOML text (a
        ``str`` that contains a newline is read as text, otherwise as a path).
    out : str or path-like
        The run folder. Finished chunks are kept in ``parts/``; running again resumes an
        unfinished run of the same scenario. At the end: ``patients.parquet``,
        ``events.parquet``, ``summary.json`` (Kaplan-Meier, medians, RMST, log-rank, Cox hazard
        ratios), ``manifest.json`` and ``figures/``.
    workers : int, optional
        Local threads (default 1).
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (``tcp://host:8786``).
    progress : callable, optional
        Called with ``(done, total)`` patient-arms.
    figures : bool, optional
        Write the Kaplan-Meier, organ and swimmer figures (default True).

    Returns
    -------
    CohortRun
        The finished run folder: ``manifest``, ``summary``, ``patients()``, ``events()``.

    Raises
    ------
    ScenarioError
        The scenario is invalid or has no ``[cohort]`` section.
    CohortError
        The output folder holds another run, or the scheduler cannot be reached.

    Examples
    --------
    >>> import metacascade as mc, tempfile
    >>> text = '''
    ... [patient]
    ... cancer = "breast_er_negative"
    ... primary_diameter_mm = 25
    ... [cohort]
    ... n_patients = 40
    ... chunk_size = 40
    ... follow_up_days = 1825
    ... [[cohort.arm]]
    ... name = "control"
    ... [[cohort.arm]]
    ... name = "surgery"
    ... [[cohort.arm.treatment]]
    ... kind = "surgery"
    ... day = 0
    ... '''
    >>> trial = mc.run_cohort(text, tempfile.mkdtemp(), figures=False)
    >>> trial.manifest["status"], sorted(trial.patients()["arm"].unique())
    ('complete', ['control', 'surgery'])
    """
    from pathlib import Path

    from metacascade.scenario import Scenario as _Scenario
    from metacascade.workflows.cohort import run_cohort as _run_cohort

    if isinstance(scenario, _Scenario):
        import tomli_w

        spec: str | Path = tomli_w.dumps(scenario.raw)
        source: str | None = scenario.source
    elif isinstance(scenario, str) and "\n" in scenario:
        spec, source = scenario, None
    else:
        spec, source = Path(scenario), None
    return _run_cohort(
        spec, out, workers=workers, scheduler=scheduler, progress=progress, figures=figures, source=source
    )


def calibrate(
    data: str | os.PathLike[str],
    *,
    model: str = "gbsg2",
    out: str | os.PathLike[str],
    time_unit: str | None = None,
    bayes: bool = True,
    steps: int = 1200,
    seed: int = 0,
    profile: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Calibrate a mechanistic model to a data file, as ``metacascade fit`` does.

    Parameters
    ----------
    data : str or path-like
        A CSV or Parquet file. ``model="gbsg2"``: a time-to-event trial table with the GBSG2
        columns (``time``, ``cens``, ``tsize``, ``pnodes``, ``tgrade``, ``estrec``, ``progrec``,
        ``horTh``, ``menostat``, ``age``) and its time unit declared (``# units: time=days`` or
        ``time_unit``). ``model="iwata2000"``: cumulative counts of metastases by size
        (``exam_day, size_cells, n_larger`` with a ``# source:`` line).
    model : {"gbsg2", "iwata2000"}
        The mechanistic relapse model of breast cancer (maximum likelihood with profile
        intervals and, with ``bayes``, an emcee posterior), or Iwata's Gompertz-with-colonisation
        model (least squares on the counts).
    out : str or path-like
        Folder for ``fit.json``, ``parameters.csv``, the figures and ``posterior.parquet``.
    time_unit : str, optional
        Unit of the time column (days, weeks, months, years) when the file does not declare it.
    bayes : bool, optional
        Also sample the posterior (gbsg2).
    steps : int, optional
        MCMC steps per walker.
    seed : int, optional
        Seed of the optimiser's starts and of the sampler.
    profile : bool, optional
        Profile-likelihood intervals (else Wald only).
    progress : callable, optional
        Called with a short message at each stage.

    Returns
    -------
    dict
        The fit record written to ``fit.json``: parameters with intervals, log-likelihood,
        diagnostics and goodness of fit.

    Raises
    ------
    CalibrationError
        An unknown model, or a fit that fails.
    DataError
        A data file that is missing or malformed (the message names the column and row).

    See Also
    --------
    metacascade.calibration.fit_mle, metacascade.calibration.fit_bayes : the fitting machinery.

    Examples
    --------
    >>> import metacascade as mc, pathlib, tempfile
    >>> from metacascade.validation.iwata2000 import synthetic_cumulative_size_data
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> counts = synthetic_cumulative_size_data()  # Iwata's model at the published values
    >>> _ = (folder / "counts.csv").write_text("# source: synthetic\\n" + counts.table.to_csv(index=False))
    >>> record = mc.calibrate(folder / "counts.csv", model="iwata2000", out=folder / "fit")
    >>> round(record["parameters"]["alpha"], 1)
    0.7
    """
    from pathlib import Path

    from metacascade.calibration.run import fit_file

    return fit_file(
        Path(data),
        model,
        Path(out),
        time_unit=time_unit,
        bayes=bayes,
        steps=steps,
        seed=seed,
        profile=profile,
        progress=progress,
    )


def validate(case: str, **options: Any) -> ValidationReport | dict[str, Any]:
    """Run a validation case, as ``metacascade validate CASE`` does.

    Parameters
    ----------
    case : str
        ``"iwata2000"``, ``"kuznetsov1994"`` or ``"hormones"`` (each returns a
        ``ValidationReport``), ``"presets"`` (the calibrated presets against DiSibio 2008
        and SEER) or ``"gbsg2"`` (fit on two thirds of the GBSG2 trial, predict the rest; takes
        minutes). The documentation's validation page says what each case compares with.
    **options
        ``data`` and ``figure_dir`` for the report cases; ``figure_dir`` for ``"presets"``;
        ``progress`` for ``"gbsg2"``.

    Returns
    -------
    ValidationReport or dict
        A ``ValidationReport`` (rows of reference value, reproduction, tolerance and
        verdict; ``passed``) for the report cases; the JSON-ready record that ``--json`` prints
        for ``"presets"`` and ``"gbsg2"``.

    Raises
    ------
    MetacascadeError
        An unknown case (with a "did you mean" hint).

    Examples
    --------
    >>> import metacascade as mc
    >>> report = mc.validate("kuznetsov1994")
    >>> report.passed
    True
    >>> mc.validate("iwata")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.MetacascadeError: validate: unknown case 'iwata' (did you mean 'iwata2000'?); allowed: ...
    """
    if case == "presets":
        from metacascade.validation.presets import validate_presets

        return validate_presets(**options)
    if case == "gbsg2":
        from metacascade.validation.gbsg2 import run_gbsg2

        return run_gbsg2(**options)
    from metacascade.validation import CASES, run_case

    if case not in CASES:
        from metacascade._messages import did_you_mean

        allowed = [*CASES, "presets", "gbsg2"]
        raise MetacascadeError(
            f"validate: unknown case {case!r}{did_you_mean(case, allowed)}; allowed: {', '.join(allowed)}"
        )
    return run_case(case, **options)


def citation(scenario: Scenario | str | os.PathLike[str]) -> str:
    """The references of the model parts a scenario uses, as a numbered list.

    Parameters
    ----------
    scenario : Scenario, str or path-like
        A scenario, or the path of a scenario file.

    Returns
    -------
    str
        One reference a line, ``[1] Authors. Title. Journal Year;Volume:Pages``: the sources of
        the cancer preset's parameters, then those of the engine.

    Examples
    --------
    >>> import metacascade as mc
    >>> print(mc.citation(mc.parse_scenario("")).splitlines()[0])  # doctest: +ELLIPSIS
    [1] Iwata K, Kawasaki K, Shigesada N. A dynamical model for the growth and size distribution ...
    """
    from metacascade.references import citation as _citation
    from metacascade.scenario import Scenario as _Scenario

    sc = scenario if isinstance(scenario, _Scenario) else load_scenario(scenario)
    return _citation(sc)
