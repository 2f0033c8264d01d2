"""Command-line interface: each command is a thin typer wrapper over a library function."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from metacascade._version import package_version
from metacascade.errors import MetacascadeError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="metacascade: simulate the metastatic cascade from a scenario file.",
)
scenario_app = typer.Typer(no_args_is_help=True, help="Write and check scenario files.")
app.add_typer(scenario_app, name="scenario")
presets_app = typer.Typer(no_args_is_help=True, help="List cancer-type presets and calibrate them to autopsy data.")
app.add_typer(presets_app, name="presets")

console = Console()
err_console = Console(stderr=True)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ARG001
    """Warnings as one line, ``warning: <message>``, without the class name or source line."""
    text = " ".join(str(message).split())
    err_console.print(f"[yellow]warning:[/] {text}", highlight=False, markup=True, soft_wrap=True)


class _Steps:
    """A rich progress bar for a long command: what it is doing, how far (a ``k/n`` in a
    message moves the bar; without one the bar pulses) and the time elapsed.

    ``with _Steps("fitting") as steps: work(progress=steps.say)``; ``steps.say(msg)`` takes the
    library's progress messages (``"start 2/4: ..."``, ``"MCMC 600/1200"``, ``"writing ... 3/7"``).
    """

    def __init__(self, what: str, total: float | None = None, *, console_: Console | None = None) -> None:
        self.what, self.total, self.console = what, total, console_ or err_console  # stdout stays clean

    def __enter__(self) -> _Steps:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[count]}"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.bar.__enter__()
        self.task = self.bar.add_task(self.what, total=self.total, count="")
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.__exit__(*exc)

    def say(self, message: str) -> None:
        import re

        m = re.search(r"(\d+)\s*/\s*(\d+)", message)
        fields: dict = {"description": f"{self.what}: {message}"}
        if m and int(m.group(2)) > 0:
            fields.update(completed=int(m.group(1)), total=int(m.group(2)), count=f"{m.group(1)}/{m.group(2)}")
        self.bar.update(self.task, **fields)


def _print_table(table: Table) -> None:
    """Print ``table`` without cutting anything at the terminal's width: the first column (the
    names) keeps its longest entry on one line, the others wrap or fold instead of ending in "…"."""
    from rich.text import Text

    for i, col in enumerate(table.columns):
        col.overflow = "fold"
        if i == 0:
            cells = [c.plain if isinstance(c, Text) else str(c) for c in col.cells]
            col.no_wrap = True
            col.min_width = max([len(c) for c in cells] + [col.min_width or 0])
    console.print(table)


def _fail(exc: Exception) -> None:
    err_console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True, soft_wrap=True)
    raise typer.Exit(code=2)


def _load(path: Path | None):  # -> Scenario
    from metacascade.scenario import default_scenario, load_scenario

    return default_scenario() if path is None else load_scenario(path)


@app.callback(invoke_without_command=True)
def _main(version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False) -> None:
    import warnings

    warnings.showwarning = _show_warning
    if version:
        console.print(f"metacascade {package_version()}")
        raise typer.Exit()


@app.command()
def run(
    scenario: Annotated[
        Optional[Path],
        typer.Argument(
            help="Scenario TOML file; the built-in default (a 30 mm colorectal cancer, 5 years) if omitted."
        ),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("metacascade-out"),
    cancer: Annotated[
        Optional[str],
        typer.Option(
            help="Without a scenario file: the built-in example for this "
            "preset instead (e.g. hcc_iwata2000, Iwata's one-organ "
            "case; see: metacascade presets list)."
        ),
    ] = None,
) -> None:
    """Run a scenario and write tables, summary.json and figure.png into OUT."""
    from metacascade.workflows.run import check_run_folder, run_scenario, write_results

    try:
        if cancer is not None and scenario is not None:
            raise MetacascadeError(
                f"--cancer {cancer}: given with the scenario file {scenario}; allowed one of "
                "them (set cancer in the file's patient section)"
            )
        if cancer is not None:
            from metacascade.scenario import parse_scenario
            from metacascade.scenario.template import example_scenario_for

            sc = parse_scenario(example_scenario_for(cancer), f"built-in example for {cancer}")
        else:
            sc = _load(scenario)
        replaces = check_run_folder(out)  # before computing: a file, unwritable, or another kind of folder
        if sc.engine.kind == "stochastic":
            _run_stochastic(sc, out, replaces)
            return
        with _Steps(f"{sc.patient.cancer}, deterministic engine") as steps:
            steps.say("solving")
            result = run_scenario(sc)
            written = write_results(result, out, progress=steps.say)
    except MetacascadeError as exc:
        _fail(exc)
        return
    except OSError as exc:  # the folder changed under the run, or the disk filled up
        _fail(
            MetacascadeError(
                f"--out: {out}: cannot write the results ({exc.strerror or exc}); allowed a folder you can write to"
            )
        )
        return
    s = result.summary
    d, h = s["at_diagnosis"], s["at_horizon"]
    table = Table(title=f"{sc.patient.cancer} ({sc.engine.kind} engine, source: {sc.source})")
    table.add_column("")
    table.add_column("at diagnosis (day 0)", justify="right")
    hd = f"{h['days_since_diagnosis']:.0f}" if s.get("stopped_at_lethal_burden") else f"{sc.engine.horizon_days:g}"
    table.add_column(f"at day {hd}", justify="right")
    table.add_row("primary diameter (mm)", f"{d['primary_diameter_mm']:.1f}", f"{h['primary_diameter_mm']:.1f}")
    table.add_row("expected metastases (all sizes)", f"{d['n_metastases']:.3g}", f"{h['n_metastases']:.3g}")
    table.add_row(
        f"expected detectable (> {sc.detection_cells:.2g} cells)",
        f"{d['n_detectable']:.3g}",
        f"{h['n_detectable']:.3g}",
    )
    table.add_row("metastatic burden (cells)", f"{d['burden_cells']:.3g}", f"{h['burden_cells']:.3g}")
    _print_table(table)
    if len(sc.organs) > 1:
        organs = Table(
            title="by organ: expected metastases (n), probability of a detectable one (P), burden (cells)",
            caption="first day: when P reaches 1/2 (days since diagnosis)",
        )
        for col in ("organ", "n day 0", f"n day {hd}", f"P day {hd}", f"burden day {hd}", "first day"):
            organs.add_column(col, justify="left" if col == "organ" else "right")
        from metacascade.bodymap import organ_name

        first = s["days_since_diagnosis_detectable_metastasis_more_likely_than_not"]
        ranked = sorted(sc.organs, key=lambda o: -h["organs"][o]["n_metastases"])
        for o in ranked:
            organs.add_row(
                organ_name(o),
                f"{d['organs'][o]['n_metastases']:.3g}",
                f"{h['organs'][o]['n_metastases']:.3g}",
                f"{h['organs'][o]['p_detectable']:.2f}",
                f"{h['organs'][o]['burden_cells']:.3g}",
                "-" if first[o] is None else f"{first[o]:.0f}",
            )
        _print_table(organs)
    death = s["days_since_diagnosis_lethal_burden_untreated"]
    if s.get("horizon_note"):  # stopped at the untreated death, or followed past it
        console.print(f"[yellow]note:[/] {s['horizon_note']}", highlight=False)
    elif death is not None:
        console.print(
            f"untreated, the total tumour burden reaches the lethal {s['lethal_burden_cells']:.2g} cells "
            f"at day {death:.0f} since diagnosis"
        )
    console.print(f"primary age at diagnosis: {s['age_of_primary_at_diagnosis_days']:.0f} days since its first cell")
    first = s["days_since_diagnosis_expected_first_detectable_metastasis"]
    console.print(
        "expected first detectable metastasis: "
        + ("not within the horizon" if first is None else f"day {first:.0f} since diagnosis")
    )
    _written(out, written, replaces)
    if scenario is None:
        _next_steps(out, sc.patient.cancer)


def _next_steps(out: Path, cancer: str) -> None:
    """After a run of a built-in example: the next commands to try."""
    iwata = cancer == "hcc_iwata2000"
    steps = [
        (f"metacascade report {out}", "an HTML report of this run, explained in words"),
        ("metacascade serve", "the web app: body map over time, your own scenarios"),
        (
            "metacascade run" if iwata else "metacascade run --cancer hcc_iwata2000",
            "the whole-body default (colorectal, 30 mm, 5 years)"
            if iwata
            else "Iwata's one-organ case (liver, 1 year)",
        ),
        ("metacascade scenario init my.toml --cancer breast_er_positive", "a scenario file to edit"),
        ("metacascade presets list", "the cancer types"),
    ]
    width = max(len(c) for c, _ in steps)
    console.print("next:", highlight=False)
    for command, what in steps:
        console.print(f"  {command.ljust(width)}  # {what}", highlight=False, markup=False, soft_wrap=True)


def _written(out: Path, written, replaces: bool) -> None:
    """The last line of a run: where its files went (and that they replace an earlier run's)."""
    again = " (replacing the earlier run's files)" if replaces else ""
    console.print(f"results written to [bold]{out}[/]{again}: " + ", ".join(p.name for p in written))


def _run_stochastic(sc, out: Path, replaces: bool = False) -> None:  # sc: Scenario
    """Simulate the virtual patients with a progress bar, write the results, print the digest."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from metacascade.workflows.stochastic_run import run_stochastic, write_stochastic_results

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("virtual patients", total=sc.engine.n_patients)
        run = run_stochastic(sc, progress=lambda done: bar.update(task, completed=done), written=True)
    with _Steps("results") as steps:
        written = write_stochastic_results(run, out, progress=steps.say)
    s = run.summary
    from metacascade.reports.results import horizon_phrase

    at, note = horizon_phrase(
        sc.engine.horizon_days, run.result.death_day - sc.patient.age_of_primary_days, sc.engine.stop_at_death, "en"
    )
    table = Table(
        title=f"{sc.patient.cancer} (stochastic engine, {s['n_patients']} patients, seed {s['seed']}, "
        f"switch {s['switch_cells']:g} cells)",
        caption=note,
    )
    table.add_column("")
    table.add_column("at diagnosis (day 0)", justify="right")
    table.add_column(at, justify="right")
    for label, key in (
        ("metastases established: mean", "metastases_established_at"),
        ("detectable: mean", "metastases_detectable_at"),
    ):
        d, h = s[key + "_diagnosis"], s[key + "_horizon"]
        table.add_row(label, f"{d['mean']:.3g} ± {d['se'] or 0:.2g}", f"{h['mean']:.3g} ± {h['se'] or 0:.2g}")
        table.add_row(label.split(":")[0] + ": P(none)", f"{d['p_zero']:.3f}", f"{h['p_zero']:.3f}")
    _print_table(table)
    organs = Table(
        title="by organ: P(metastasis established), first detectable metastasis (days since diagnosis)", caption=note
    )
    for col in ("organ", "P day 0", f"P {at}", "P detectable", "median day"):
        organs.add_column(col, justify="left" if col == "organ" else "right")
    from metacascade.bodymap import organ_name

    ranked = sorted(sc.organs, key=lambda o: -s["organs"][o]["p_metastasis_at_horizon"])
    for o in ranked[:12]:
        row = s["organs"][o]
        q = row["days_since_diagnosis_first_detectable"]
        organs.add_row(
            organ_name(o),
            f"{row['p_metastasis_at_diagnosis']:.3f}",
            f"{row['p_metastasis_at_horizon']:.3f}",
            f"{q['fraction']:.3f}",
            f"{q['q50']:.0f}" if "q50" in q else "-",
        )
    if len(sc.organs) > 1:
        _print_table(organs)
    death = s["days_since_diagnosis_death"]
    for w in s.get("warnings", []):
        console.print(f"[yellow]warning:[/] {w}", highlight=False)
    if "cause_of_death" in s:
        plan = ", ".join(t["kind"] for t in s["treatment"]) or "no treatment"
        outcome = Table(title=f"outcomes ({plan}; days since diagnosis)")
        for col in ("outcome", "patients", "median day"):
            outcome.add_column(col, justify="left" if col == "outcome" else "right")
        n = s["n_patients"]
        for label, count in s["cause_of_death"].items():
            outcome.add_row(f"death: {label}" if label != "alive" else "alive at the horizon", f"{count / n:.1%}", "")
        rec = s["days_since_diagnosis_recurrence_after_plan"]
        if s.get("plan_end_days_since_diagnosis") is not None:
            outcome.add_row(
                "detectable tumour after the plan (recurrence)",
                f"{rec['fraction']:.1%}",
                f"{rec['q50']:.0f}" if "q50" in rec else "-",
            )
        res = s["resistant_clones"]
        outcome.add_row("resistant clones drawn at the first dose (mean)", f"{res['mean']:.3g}", "")
        for stage, count in sorted(s.get("stage_at_surgery", {}).items(), key=lambda kv: -kv[1])[:4]:
            outcome.add_row(f"stage at surgery: {stage}", f"{count / n:.1%}", "")
        _print_table(outcome)
    elif death["fraction"] > 0:
        console.print(
            f"untreated, {death['fraction']:.1%} of patients reach the lethal burden within the horizon "
            f"(median day {death.get('q50', float('nan')):.0f} among them)"
        )
    _written(out, written, replaces)


@app.command()
def validate(
    case: Annotated[str, typer.Argument(help="Published case to reproduce.")] = "iwata2000",
    data: Annotated[
        Optional[Path], typer.Option(help="Observed data file to fit instead of the shipped check.")
    ] = None,
    figures: Annotated[Optional[Path], typer.Option(help="Folder for the fit figure.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Reproduce a published case; exit 1 if any value falls outside its tolerance.

    Cases: iwata2000, kuznetsov1994, hormones, endocrine (adjuvant endocrine trials), presets,
    haeno2012 (pancreatic cancer: survival of Haeno 2012's autopsy and adjuvant cohorts), gbsg2 (fit the mechanistic relapse model on a training
    split of the GBSG2 trial, predict the held-out patients, compare with a Cox model)."""
    from metacascade.validation import run_case

    if case == "presets":
        _validate_presets(as_json, figures)
        return
    if case == "gbsg2":
        _validate_gbsg2(as_json)
        return
    if case == "haeno2012":
        _validate_haeno2012(as_json, figures)
        return
    try:
        report = run_case(case, data=data, figure_dir=figures)
    except MetacascadeError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(report.to_dict(), indent=2))
    else:
        table = Table(title=f"{report.case}: {report.title}")
        for col in ("quantity", "published", "reproduced", "95% interval", "tolerance", "status"):
            table.add_column(col, justify="left" if col == "quantity" else "right")
        for r in report.rows:
            status = "info" if r.passed is None else ("[green]pass[/]" if r.passed else "[red]FAIL[/]")
            ci = "" if r.interval is None else f"{r.interval[0]:.4g} - {r.interval[1]:.4g}"
            table.add_row(r.quantity, f"{r.published:.4g}", f"{r.reproduced:.4g}", ci, r.tolerance, status)
        _print_table(table)
        console.print(f"reference: {report.reference}", highlight=False)
        console.print(f"data: {report.data_source}", highlight=False)
        for note in report.notes:
            console.print(f"note: {note}", highlight=False)
        for fig in report.figures:
            console.print(f"figure: {fig}")
        console.print(
            "[green]all gated values within tolerance[/]" if report.passed else "[red]some values outside tolerance[/]"
        )
    raise typer.Exit(code=0 if report.passed else 1)


def _relapse_cell(rel: Optional[dict]) -> str:
    """The last point of a preset's relapse series: 'years: observed | model'."""
    if not rel:
        return "-"
    last = rel["points"][-1]
    return f"{last['years']:g} y: {100 * last['observed']:.0f}% | {100 * last['model']:.0f}%"


def _validate_presets(as_json: bool, figures: Optional[Path]) -> None:
    from metacascade.validation.presets import validate_presets

    if figures is not None and figures.exists() and not figures.is_dir():
        _fail(MetacascadeError(f"--figures: {figures} is a file; allowed a folder (created if missing)"))
        return
    try:
        with _Steps("validating the calibrated presets against autopsy, SEER and relapse data"):
            report = validate_presets(figure_dir=figures)
    except MetacascadeError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=float))
    else:
        table = Table(title="presets against DiSibio 2008 (autopsy) and SEER (M1 at diagnosis by size)")
        for col in (
            "preset",
            "autopsy MAE",
            "top 3 (obs | model)",
            "SEER r2; sqrt(cor) (peer)",
            "bins out",
            "M1 / occult / node+ at 20 mm",
            "relapse (obs | model)",
            "status",
        ):
            table.add_column(col)
        for name, r in report["presets"].items():
            a = r["autopsy"]
            seer = r["seer"]
            r2 = "-" if seer is None else f"{seer['r2']:.3f}; {seer['r2_peer_statistic']:.3f} ({seer['peer_r2']:.3f})"
            out_bins = "-" if seer is None else str(sum(1 for b in seer["bins"] if b["gated"] and not b["within"]))
            st = r["at_diagnosis"]["20mm"]
            table.add_row(
                name,
                f"{100 * a['mae']:.1f}",
                f"{','.join(a['top3_observed'])} | {','.join(a['top3_model'])}",
                r2,
                out_bins,
                f"{100 * st['p_detectable_distant']:.2g}% / {100 * st['p_occult_distant']:.2g}% / "
                f"{100 * st['p_regional_node']:.2g}%",
                _relapse_cell(r.get("relapse")),
                "[green]pass[/]" if r["passed"] else "[red]MISS[/]",
            )
        _print_table(table)
        for name, r in report["presets"].items():
            for m in r["misses"]:
                console.print(f"{name}: {m}", highlight=False)
    raise typer.Exit(code=0 if report["passed"] else 1)


def _validate_haeno2012(as_json: bool, figures: Optional[Path]) -> None:
    from metacascade.validation.haeno2012 import validate_haeno2012

    if figures is not None and figures.exists() and not figures.is_dir():
        _fail(MetacascadeError(f"--figures: {figures} is a file; allowed a folder (created if missing)"))
        return
    try:
        with _Steps("predicting the survival of Haeno 2012's pancreatic-cancer cohorts"):
            report = validate_haeno2012(figure_dir=figures)
    except MetacascadeError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=float))
        raise typer.Exit(code=0 if report["passed"] else 1)
    for name, c in report["cohorts"].items():
        table = Table(
            title=f"haeno2012 {name} cohort (n = {c['n']}, {c['deaths']} deaths, {c['resected']} resected): fraction dead"
        )
        for col in ("month", "digitised", "Kaplan-Meier (95%)", "model", "in band"):
            table.add_column(col, justify="right")
        for q in c["points"]:
            table.add_row(
                f"{q['month']:g}",
                f"{q['digitised']:.3f}",
                f"{q['km']:.3f} ({q['km_low']:.3f}-{q['km_high']:.3f})",
                f"{q['model']:.3f}",
                "yes" if q["in_band"] else "[red]no[/]",
            )
        _print_table(table)
        console.print(
            f"{name}: max |model - digitised| {c['max_abs_diff']:.3f}, inside the band at {c['in_band']} of "
            f"{len(c['points'])} months: " + ("[green]pass[/]" if c["passed"] else "[red]MISS[/]")
        )
    table = Table(title="pancreas beside published facts (information)")
    for col in ("fact", "published", "model", "source"):
        table.add_column(col)
    for r in report["information"]:
        rng = "" if r["low"] is None else f" ({r['low']:g}-{r['high']:g})"
        table.add_row(r["key"], f"{r['published']:g}{rng} {r['unit']}", f"{r['model']:.3g}", r["source"])
    _print_table(table)
    for r in report["information"]:
        console.print(f"{r['key']}: {r['quantity']}; {r['note']}", highlight=False)
    for k, v in report["parameters"].items():
        iv = f" ({v['low']:.3g}-{v['high']:.3g})" if "low" in v else ""
        console.print(f"fitted {k} = {v['value']:.4g}{iv}", highlight=False)
    for note in report["notes"]:
        console.print(f"note: {note}", highlight=False)
    for fig in report.get("figures", []):
        console.print(f"figure: {fig}")
    for m in report["misses"]:
        console.print(f"[red]miss[/]: {m}", highlight=False)
    raise typer.Exit(code=0 if report["passed"] else 1)


def _validate_gbsg2(as_json: bool) -> None:
    from metacascade.validation.gbsg2 import format_gbsg2, run_gbsg2

    try:
        with _Steps("GBSG2: fitting the mechanistic relapse model") as steps:
            report = run_gbsg2(progress=steps.say)
    except MetacascadeError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    else:
        console.print(format_gbsg2(report), highlight=False)
    raise typer.Exit(code=0 if all(report["targets"].values()) else 1)


@app.command()
def fit(
    data: Annotated[Path, typer.Argument(help="Data file (CSV or Parquet).")],
    model: Annotated[
        str,
        typer.Option(
            help="Model to fit: gbsg2 (time-to-event trial table) or iwata2000 (cumulative metastasis sizes)."
        ),
    ] = "gbsg2",
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for fit.json, parameters.csv, figures.")] = Path(
        "metacascade-fit"
    ),
    time_unit: Annotated[
        Optional[str],
        typer.Option(
            help="Unit of the time column (days, weeks, months, years) unless the CSV declares '# units: time=...'."
        ),
    ] = None,
    bayes: Annotated[bool, typer.Option(help="Also sample the Bayesian posterior (emcee).")] = True,
    steps: Annotated[int, typer.Option(help="MCMC steps per walker.")] = 1200,
    seed: Annotated[int, typer.Option(help="Seed of the starts and the sampler.")] = 0,
    profile: Annotated[bool, typer.Option(help="Profile-likelihood intervals (else Wald only).")] = True,
) -> None:
    """Calibrate a mechanistic model to data: parameter table with intervals, diagnostics, figures."""
    from metacascade.calibration.run import fit_file

    try:
        with _Steps(f"fitting {model}") as bar:
            record = fit_file(
                data,
                model,
                out,
                time_unit=time_unit,
                bayes=bayes,
                steps=steps,
                seed=seed,
                profile=profile,
                progress=bar.say,
            )
    except MetacascadeError as exc:
        _fail(exc)
        return
    if model == "iwata2000":
        console.print(record["parameters"], highlight=False)
    else:
        table = Table(
            title=f"{model}: {record['n']} patients, {record['events']} events; log-likelihood "
            f"{record['log_likelihood']:.2f}"
        )
        for col in ("parameter", "estimate", "95% profile", "posterior median [95%]", "R-hat", "ESS"):
            table.add_column(col, justify="left" if col == "parameter" else "right")
        bay = {r["parameter"]: r for r in record.get("bayes", {}).get("table", [])}
        for r in record["parameters"]:
            b = bay.get(r["parameter"])
            prof = r["profile"] or r["wald"]
            table.add_row(
                r["parameter"],
                f"{r['estimate']:.3f}",
                f"{prof[0]:.3f} - {prof[1]:.3f}" if prof else "-",
                f"{b['median']:.3f} [{b['interval'][0]:.3f}, {b['interval'][1]:.3f}]" if b else "-",
                f"{b['rhat']:.3f}" if b else "",
                f"{b['ess']:.0f}" if b else "",
            )
        _print_table(table)
        for row in record["goodness_of_fit"]:
            console.print(f"  {row['years']} y: observed {row['kaplan_meier']:.3f}, predicted {row['model']:.3f}")
    console.print(f"written to [bold]{out}[/]")


@app.command()
def predict(
    tsize: Annotated[float, typer.Option(help="Primary diameter at surgery (mm).")],
    pnodes: Annotated[int, typer.Option(help="Positive lymph nodes (>= 1).")],
    grade: Annotated[str, typer.Option(help="Tumour grade: I, II or III.")] = "II",
    estrec: Annotated[float, typer.Option(help="Estrogen receptor (fmol/mg; >= 10: ER+).")] = 50.0,
    menostat: Annotated[str, typer.Option(help="Menopausal status: Pre or Post.")] = "Post",
    horth: Annotated[str, typer.Option(help="Tamoxifen for 2 years: yes or no.")] = "no",
    fit_dir: Annotated[
        Optional[Path],
        typer.Option("--fit", help="A gbsg2 fit folder from `metacascade fit`; default: fit the GBSG2 trial now."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One patient's occult distant disease at surgery and relapse-free survival with uncertainty."""
    import numpy as np

    from metacascade.calibration.gbsg2 import predict_patient

    try:
        if fit_dir is not None:
            from metacascade.calibration.run import load_fit

            thetas, how = load_fit(fit_dir)
        else:
            from metacascade.calibration import fit_mle
            from metacascade.calibration.gbsg2 import load_gbsg2, relapse_model

            with _Steps("fitting the relapse model to GBSG2 (no --fit given)") as steps:
                _, template = relapse_model(load_gbsg2())
                mle = fit_mle(template, starts=3, profile=False, progress=steps.say)
            if mle.covariance is not None:
                thetas = np.random.default_rng(0).multivariate_normal(mle.theta, mle.covariance, size=100)
                how = "100 draws from the MLE's normal approximation (GBSG2, all 686 patients)"
            else:
                thetas, how = mle.theta[None, :], "the MLE on GBSG2 (no uncertainty available)"
        patient = {
            "tsize": tsize,
            "pnodes": pnodes,
            "tgrade": grade,
            "estrec": estrec,
            "menostat": menostat,
            "horTh": horth,
        }
        days = np.array([1, 2, 3, 5, 7, 10]) * 365.25
        res = predict_patient(thetas, patient, days)
    except MetacascadeError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps({"patient": patient, "parameters": how, **res}, indent=2))
        return
    console.print(f"patient: {patient}; parameters: {how}", highlight=False)
    q = res["occult_colonies_quantiles"]
    qc = res["occult_cells_quantiles"]
    console.print(
        f"occult distant disease at surgery: P(none) {res['p_no_occult_colony']:.3f}; colonies mean "
        f"{res['occult_colonies_mean']:.2f} (median {q['0.5']:.0f}, 95th percentile {q['0.95']:.0f}); "
        f"total cells median {qc['0.5']:.3g}, 95th percentile {qc['0.95']:.3g} "
        f"(detectable: {res['detection_cells']:.3g} cells)",
        highlight=False,
    )
    table = Table(title="relapse-free survival")
    for col in ("years", "median", "95% interval"):
        table.add_column(col, justify="right")
    for d, m, lo, hi in zip(res["days"], res["rfs_median"], res["rfs_lower"], res["rfs_upper"]):
        table.add_row(f"{d / 365.25:.0f}", f"{m:.3f}", f"{lo:.3f} - {hi:.3f}")
    _print_table(table)


@app.command()
def cite(
    scenario: Annotated[
        Optional[Path], typer.Argument(help="Scenario TOML file; the built-in default if omitted.")
    ] = None,
) -> None:
    """Print the references of the model parts a scenario uses."""
    from metacascade.references import citation

    try:
        console.print(citation(_load(scenario)), highlight=False)
    except MetacascadeError as exc:
        _fail(exc)


@app.command()
def cohort(
    scenario: Annotated[
        Optional[Path],
        typer.Argument(
            help='Scenario TOML file with a "cohort" section (its arms and patients); the built-in breast trial '
            "example if omitted."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Run folder (a new one, or an unfinished run to resume).")
    ] = Path("metacascade-cohort"),
    workers: Annotated[
        Optional[int], typer.Option(help="Local threads (default: the machine's cores, at most 8).")
    ] = None,
    scheduler: Annotated[
        Optional[str], typer.Option(help="Address of a running dask.distributed scheduler, e.g. tcp://10.0.0.5:8786.")
    ] = None,
    figures: Annotated[bool, typer.Option(help="Write the KM, organ and swimmer figures.")] = True,
) -> None:
    """Run a virtual trial: every patient of the cohort in every arm; Parquet, summary.json, figures.

    Interrupted runs (Ctrl-C, kill, a lost worker) resume from their finished chunks when the same
    command is run again."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from metacascade.workflows.cohort import default_workers, run_cohort

    path = scenario
    if path is None:
        from importlib.resources import files

        path = Path(str(files("metacascade.scenario").joinpath("cohort_example.toml")))
    started = {}

    def rate(task) -> str:  # patients per second since this session started
        import time as _t

        t0, c0 = started.setdefault("t", (_t.perf_counter(), task.completed))
        dt = _t.perf_counter() - t0
        return f"{(task.completed - c0) / dt:,.0f} patients/s" if dt > 0 and task.completed > c0 else ""

    try:
        with Progress(
            "[progress.description]{task.description}",
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task("patients x arms", total=None, rate="")

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
                bar.update(task, rate=rate(bar.tasks[task]))

            run = run_cohort(
                path, out, workers=workers or default_workers(), scheduler=scheduler, progress=progress, figures=figures
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]interrupted[/]: the finished chunks are kept in {out}/parts; run the same command again to resume"
        )
        raise typer.Exit(code=130) from None
    except MetacascadeError as exc:
        _fail(exc)
        return
    _print_cohort(run)


@app.command()
def sensitivity(
    scenario: Annotated[
        Optional[Path],
        typer.Argument(help="Scenario TOML file (deterministic engine); the built-in default if omitted."),
    ] = None,
    vary: Annotated[
        str,
        typer.Option(
            help="Factors and ranges, comma separated: NAME=LOW:HIGH[:log|:lin]. NAME: growth_rate or shedding "
            "(factors, log scale) or a numeric scenario key such as patient.primary_diameter_mm or model.soil.liver."
        ),
    ] = "growth_rate=0.5:2,shedding=0.1:10,patient.primary_diameter_mm=10:40",
    output: Annotated[
        str,
        typer.Option(
            help="Outputs, comma separated: p_m1_at_diagnosis, p_occult_at_diagnosis, p_node_positive, "
            "p_relapse_5y, p_relapse_10y, n_metastases_at_diagnosis, n_metastases_at_horizon, "
            "p_detectable_at_horizon, days_to_lethal_burden, or a number's dotted path in summary.json."
        ),
    ] = "p_m1_at_diagnosis,p_occult_at_diagnosis,p_node_positive",
    method: Annotated[
        str, typer.Option(help="morris (screening) or sobol (first-order and total indices).")
    ] = "morris",
    n: Annotated[
        int, typer.Option("--n", help="morris: trajectories (n (d + 1) runs); sobol: base samples, a power of 2.")
    ] = 10,
    seed: Annotated[
        Optional[int], typer.Option(help="Seed of the design (default: the scenario's engine.seed).")
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="Folder (a new one, or an unfinished analysis to resume).")
    ] = Path("metacascade-sensitivity"),
    workers: Annotated[int, typer.Option(help="Local processes.")] = 1,
    figure: Annotated[bool, typer.Option(help="Write tornado.png.")] = True,
) -> None:
    """Global sensitivity analysis (SALib): indices.csv, samples.parquet, summary.json, tornado.png.

    Interrupted analyses resume from their finished chunks when the same command is run again."""
    from metacascade.errors import ScenarioError
    from metacascade.workflows.sensitivity import run_sensitivity

    try:
        if scenario is None:
            from importlib.resources import files

            text, source = files("metacascade.scenario").joinpath("default.toml").read_text(), "default.toml"
        else:
            try:
                text, source = scenario.read_text(), str(scenario)
            except (OSError, UnicodeDecodeError) as exc:
                raise ScenarioError(f"{scenario}: cannot read the scenario file ({exc})") from None
        with _Steps("model runs") as steps:
            res = run_sensitivity(
                text,
                vary,
                output,
                method=method,
                n=n,
                seed=seed,
                out=out,
                workers=workers,
                source=source,
                progress=lambda done, total: steps.say(f"{done}/{total}"),
                figure=figure,
            )
    except KeyboardInterrupt:
        err_console.print(
            f"[yellow]interrupted[/]: the finished chunks are kept in {out}/parts; run the same command again to resume"
        )
        raise typer.Exit(code=130) from None
    except MetacascadeError as exc:
        _fail(exc)
        return
    cols = [c for c in res.indices.columns if c not in ("output", "parameter")]
    table = Table(title=f"{method} indices, {res.summary['runs']} runs (95% confidence half-widths)")
    for c in ["output", "parameter", *cols]:
        table.add_column(c, justify="left" if c in ("output", "parameter") else "right")
    for _, r in res.indices.iterrows():
        table.add_row(str(r["output"]), str(r["parameter"]), *[f"{float(r[c]):.3g}" for c in cols])
    _print_table(table)
    for o, why in res.summary["undefined_outputs"].items():
        err_console.print(f"[yellow]warning:[/] {o}: {why}", highlight=False)
    console.print(
        f"written to {out}/: indices.csv, samples.parquet, summary.json" + (", tornado.png" if figure else "")
    )


@app.command()
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="Address to listen on; loopback by default (other machines cannot "
            "reach it). Use 0.0.0.0 only on a trusted network."
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.", min=1, max=65535)] = 8050,
    runs_dir: Annotated[
        Path, typer.Option("--runs-dir", help="Folder of run folders that the app lists, opens and writes.")
    ] = Path("metacascade-runs"),
    max_patients: Annotated[
        int, typer.Option(help="Largest run the app accepts (patients; per arm for cohorts).", min=1)
    ] = 20_000,
) -> None:
    """Start the web app: scenario editor, body map, plots, cohort runs, saved runs and reports."""
    from metacascade.web import serve as _serve

    if host not in ("127.0.0.1", "localhost", "::1"):
        err_console.print(
            f"[yellow]warning[/]: listening on {host}: anyone who can reach this machine can run "
            "simulations and read the runs in " + str(runs_dir)
        )
    console.print(f"metacascade web app on http://{host}:{port}/ (runs in {runs_dir}); Ctrl-C to stop")
    try:
        _serve(host, port, runs_dir, max_patients=max_patients)
    except MetacascadeError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit() from None


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run folder written by 'metacascade run' or 'metacascade cohort'.")],
    format: Annotated[str, typer.Option("--format", help="html or pdf.")] = "html",
    lang: Annotated[str, typer.Option("--lang", help="en (English) or it (Italiano).")] = "en",
    out: Annotated[
        Optional[Path], typer.Option("--out", "-o", help="Report file (default: RUN_DIR/report.LANG.FORMAT).")
    ] = None,
) -> None:
    """Write a self-contained report of a run: scenario, model and sources, figures, tables, explanation."""
    from metacascade.reports import build_report

    try:
        with _Steps(f"{format.upper()} report of {run_dir}"):
            path = build_report(run_dir, fmt=format, lang=lang, out=out)
    except MetacascadeError as exc:
        _fail(exc)
        return
    console.print(f"report written: {path}")


def _print_cohort(run) -> None:  # run: CohortRun
    """The final summary table of a cohort run."""
    s = run.summary
    arms = s["cohort"]["arms"]
    ep = s["endpoints"]
    table = Table(
        title=f"cohort: {s['cohort']['n_patients']} patients x {len(arms)} arm(s), follow-up "
        f"{s['cohort']['follow_up_days']:g} days (seed {run.manifest['seed']})"
    )
    tau = s["cohort"]["follow_up_days"]
    for col in (
        "arm",
        "deaths",
        "median OS (y)",
        "OS 5 y",
        "MFS 5 y",
        "distant metastasis",
        f"RMST diff (days, to day {tau:g})",
        f"HR death vs {arms[0]}",
    ):
        table.add_column(col, justify="left" if col == "arm" else "right")
    non_ph = []

    def at5(endpoint: str, arm: str) -> str:
        v = ep[endpoint]["arms"][arm]["survival"].get("5y", {}).get("survival")
        return "-" if v is None else f"{v:.1%}"

    for arm in arms:
        o = ep["os"]["arms"][arm]
        d = ep["dm"]["arms"][arm]
        med = o["median_days"]
        comp = ep["os"]["comparisons"].get(arm, {})
        hr, rm = comp.get("hazard_ratio", {}), comp.get("rmst_difference", {})
        hr_txt = ""
        if hr.get("hr") is not None:
            ci = (
                ""
                if hr.get("ci_lower") is None or hr.get("ci_upper") is None
                else f" ({hr['ci_lower']:.2f}-{hr['ci_upper']:.2f})"
            )
            hr_txt = f"{hr['hr']:.2f}{ci}"
            if hr.get("proportional") is False:
                hr_txt += " *"
                non_ph.append((arm, hr.get("ph_p_value")))
        rm_txt = ""
        if rm.get("difference_days") is not None:
            rci = (
                ""
                if rm.get("ci_lower") is None or rm.get("ci_upper") is None
                else f" ({rm['ci_lower']:+.0f} to {rm['ci_upper']:+.0f})"
            )
            rm_txt = f"{rm['difference_days']:+.0f}{rci}"
        table.add_row(
            arm,
            f"{o['events']}/{o['n']}",
            "not reached" if med is None else f"{med / 365.25:.2f}",
            at5("os", arm),
            at5("mfs", arm),
            f"{d['events'] / max(d['n'], 1):.1%}",
            rm_txt,
            hr_txt,
        )
    _print_table(table)
    for arm, p in non_ph:
        ptxt = "n/a" if p is None else ("< 0.0001" if p < 1e-4 else f"{p:.2g}")
        console.print(
            f"* {arm}: hazards not proportional (Schoenfeld test p {ptxt}): the curves cross or part over "
            "time, so read the RMST difference, not the hazard ratio",
            highlight=False,
        )
    console.print(
        f"results in [bold]{run.out}[/]: patients.parquet, events.parquet, summary.json, manifest.json"
        + (", figures/" if any(f.startswith("figures") for f in run.manifest.get("files", [])) else "")
    )


@scenario_app.command("init")
def scenario_init(
    path: Annotated[Path, typer.Argument(help="Where to write the example.")] = Path("scenario.toml"),
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    cancer: Annotated[Optional[str], typer.Option(help="Cancer-type preset (see: metacascade presets list).")] = None,
) -> None:
    """Write a commented example scenario (its commented-out overrides show the preset's values)."""
    from metacascade.io import atomic_write
    from metacascade.scenario.template import example_scenario_for

    if path.exists() and not force:
        _fail(MetacascadeError(f"{path}: already exists; use --force to overwrite it"))
    try:
        text = example_scenario_for(cancer)
    except MetacascadeError as exc:
        _fail(exc)
        return
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))
    console.print(f"wrote {path}; check it with: metacascade scenario check {path}")


@scenario_app.command("check")
def scenario_check(path: Annotated[Path, typer.Argument(help="Scenario file to validate.")]) -> None:
    """Validate a scenario file and print what it resolves to."""
    from metacascade.scenario import load_scenario

    try:
        sc = load_scenario(path)
    except MetacascadeError as exc:
        _fail(exc)
        return
    console.print(f"[green]ok[/]: {path}")
    console.print(
        f"  cancer {sc.patient.cancer}; primary {sc.patient.primary_diameter_mm:g} mm = "
        f"{sc.patient.primary_cells:.3g} cells (age {sc.patient.age_of_primary_days:.0f} days)"
    )
    console.print(
        f"  growth {sc.model.primary_growth}; shedding {sc.model.primary_shedding}; "
        f"secondary seeding {sc.model.secondary_seeding}",
        highlight=False,
    )
    console.print(
        f"  engine {sc.engine.kind}, horizon {sc.engine.horizon_days:g} days, seed {sc.engine.seed}, "
        f"rtol {sc.engine.rtol:g}"
    )
    top = sorted(zip(sc.organs, sc.routing.primary), key=lambda kv: -kv[1])[:5]
    console.print(
        f"  {len(sc.organs)} organ(s); founding probability per shed cell: "
        + ", ".join(f"{o} {p:.3g}" for o, p in top),
        highlight=False,
    )
    if sc.cohort is not None:
        c = sc.cohort
        console.print(
            f"  cohort: {c.n_patients} patients x {len(c.arms)} arm(s) ("
            + ", ".join(f"{name}: {', '.join(t.kind for t in plan) or 'no treatment'}" for name, plan in c.arms)
            + f"), follow-up {c.follow_up_days:g} days, varied: {', '.join(c.vary) or 'nothing'}; run it with: "
            f"metacascade cohort {path} --out RUN_DIR",
            highlight=False,
        )


@presets_app.command("list")
def presets_list() -> None:
    """List the cancer-type presets with their growth, routes and sources."""
    from metacascade.presets import load_presets

    table = Table(title="cancer-type presets (scenario: \\[patient] cancer = NAME)")
    for col in ("name", "description", "routes", "calibrated to"):
        table.add_column(col)
    for name, p in sorted(load_presets().items()):
        routes = "one organ (Iwata 2000)" if p.routes is None else ", ".join(f"{k} {v:g}" for k, v in p.routes.items())
        cal = p.calibration or {}
        what = (
            "-"
            if not cal
            else (
                "autopsy "
                + "+".join(cal.get("autopsy", ()))
                + "; SEER "
                + (
                    " + ".join([cal["seer"]] if isinstance(cal.get("seer"), str) else cal.get("seer", []))
                    or "none (" + str(cal.get("when", "time scale not calibrated")) + ")"
                )
            )
        )
        table.add_row(name, p.description, routes, what)
    _print_table(table)


@presets_app.command("calibrate")
def presets_calibrate(
    names: Annotated[
        Optional[list[str]], typer.Argument(help="Presets to calibrate (default: all with a calibration table).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Only compare with the shipped file; exit 1 if it differs.")
    ] = False,
    out: Annotated[
        Optional[Path], typer.Option(help="Write here instead of the shipped presets/calibrated.toml.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes (one preset each).")] = 2,
) -> None:
    """Fit the presets to the DiSibio 2008 autopsy counts and the SEER M1-by-size curves (maximum
    likelihood: soils per autopsy site, competent fraction, dissemination spread)."""
    from rich.progress import Progress

    from metacascade.io import atomic_write
    from metacascade.presets import load_calibrated, load_presets
    from metacascade.workflows.preset_calibration import CALIBRATED_PATH, calibrate_presets, format_calibrated

    presets = load_presets()
    chosen = list(names) if names else [n for n, p in presets.items() if p.calibration]
    for n in chosen:
        if n not in presets or not presets[n].calibration:
            from metacascade.scenario._errors import did_you_mean

            allowed = [k for k, p in presets.items() if p.calibration]
            _fail(
                MetacascadeError(
                    f"presets calibrate: unknown or uncalibrated preset {n!r}"
                    f"{did_you_mean(n, allowed)}; allowed: {', '.join(allowed)}"
                )
            )
            return
    target = CALIBRATED_PATH if out is None else out
    if out is not None and out.exists() and out.is_dir():
        _fail(MetacascadeError(f"--out: {out} is a folder; allowed a file path for the TOML"))
        return
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("calibrating presets", total=len(chosen))
            fits = calibrate_presets(chosen, progress=lambda name: progress.advance(task), workers=workers)
    except MetacascadeError as exc:
        _fail(exc)
        return
    shipped = CALIBRATED_PATH.read_text(encoding="utf-8") if CALIBRATED_PATH.is_file() else ""
    if names:  # a subset: merge into the shipped fits (their text regenerated from the file)
        from metacascade.workflows.preset_calibration import fit_from_calibrated

        old = load_calibrated(shipped) if shipped else {}
        for n, v in old.items():
            if n not in fits:
                fits[n] = fit_from_calibrated(n, v)
    text = format_calibrated(fits)
    if check:
        same = shipped == text
        console.print(
            "[green]the shipped calibration is reproduced bit for bit[/]"
            if same
            else "[red]the shipped calibration differs from a fresh fit[/]"
        )
        raise typer.Exit(code=0 if same else 1)
    atomic_write(target, lambda p: p.write_text(text, encoding="utf-8"))
    console.print(f"calibrated {len(chosen)} presets; wrote {target}")


if __name__ == "__main__":  # pragma: no cover
    app()
