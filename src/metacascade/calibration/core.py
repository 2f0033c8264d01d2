"""The calibration API: a model template (free parameters with bounds and priors) and its fits.

- :func:`fit_mle`: maximum likelihood with ``scipy.optimize`` (multi-start L-BFGS-B on the
  transformed scale), Wald intervals from a finite-difference Hessian and profile-likelihood
  intervals (likelihood-ratio, ``2 (l_max - l) = chi2_1(1 - alpha)``, roots by ``brentq``);
- :func:`fit_least_squares`: bounded nonlinear least squares (``scipy.optimize.least_squares``)
  with the Gauss-Newton covariance, for models fitted to curves (Iwata 2000);
- :func:`fit_bayes`: the posterior of the same parameters under their priors, sampled with the
  affine-invariant ensemble sampler ``emcee``; R-hat and effective sample size from ``arviz``.

Why emcee: the models calibrated here integrate their patient-level random effects out of
the likelihood (closed forms or quadrature), which leaves a handful of population parameters.
An ensemble sampler is robust in a few dimensions, needs no gradients and no compiler
toolchain (PyMC compiles with a C compiler, numpyro needs JAX), and its chains are read by
arviz for the usual diagnostics.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy import optimize, stats

from metacascade.errors import CalibrationError, ParameterError

__all__ = [
    "BayesFit",
    "LeastSquaresFit",
    "MLEFit",
    "Parameter",
    "Template",
    "fit_bayes",
    "fit_least_squares",
    "fit_mle",
]


@dataclass(frozen=True)
class Parameter:
    """A free parameter: ``name``, bounds ``[low, high]`` on the scale it is fitted on, a start
    value and a prior on that scale (``uniform`` on the bounds, or ``normal`` with ``mean`` and
    ``sd``, truncated to the bounds). ``unit`` and ``description`` are for reports."""

    name: str
    low: float
    high: float
    start: float
    prior: Literal["uniform", "normal"] = "uniform"
    mean: float = 0.0
    sd: float = 1.0
    unit: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        for k in ("low", "high", "start", "mean", "sd"):
            v = getattr(self, k)
            if not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ParameterError(f"parameter {self.name}.{k}: got {v!r}, allowed a finite number")
        if not self.low < self.high:
            raise ParameterError(f"parameter {self.name}: low = {self.low} must be below high = {self.high}")
        if not self.low <= self.start <= self.high:
            raise ParameterError(f"parameter {self.name}: start = {self.start} outside [{self.low}, {self.high}]")
        if self.prior not in ("uniform", "normal") or self.sd <= 0:
            raise ParameterError(
                f"parameter {self.name}: prior {self.prior!r} (sd {self.sd}); allowed 'uniform' or 'normal' with sd > 0"
            )

    def log_prior(self, x: float) -> float:
        if not self.low <= x <= self.high:
            return -math.inf
        if self.prior == "uniform":
            return -math.log(self.high - self.low)
        return float(stats.norm.logpdf(x, self.mean, self.sd))


@dataclass(frozen=True)
class Template:
    """A model to calibrate: its free parameters and its log-likelihood ``loglik(theta)`` (theta
    in parameter order; ``-inf`` where the model is undefined)."""

    parameters: tuple[Parameter, ...]
    loglik: Callable[[np.ndarray], float]
    name: str = "model"

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.parameters]

    @property
    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([p.low for p in self.parameters]), np.array([p.high for p in self.parameters]))

    def log_prior(self, theta: np.ndarray) -> float:
        return float(sum(p.log_prior(float(x)) for p, x in zip(self.parameters, theta)))


@dataclass
class MLEFit:
    """A maximum-likelihood fit: estimates, log-likelihood, intervals, optimiser record."""

    template: Template
    theta: np.ndarray
    loglik: float
    n_obs: int
    covariance: np.ndarray | None
    wald: dict[str, tuple[float, float]]
    profile: dict[str, tuple[float, float]]
    alpha: float
    success: bool
    message: str
    n_starts: int
    evaluations: int

    def likelihood_ratio(self, name: str, value: float) -> float:
        """The profile likelihood-ratio statistic ``2 (l_hat - max l | name = value)`` of the
        hypothesis that parameter ``name`` equals ``value`` (the other parameters re-maximised
        from the fit's values, as the profile intervals' first step is). ``value`` lies inside
        the profile interval at level ``1 - alpha`` exactly when the statistic is at most the
        chi-square(1) quantile ``1 - alpha`` (for a profile that rises on each side of the
        maximum): one inner maximisation instead of the dozen of an interval."""
        names = self.template.names
        if name not in names:
            raise ParameterError(f"name: got {name!r}, allowed one of {', '.join(names)}")
        if not math.isfinite(float(value)):
            raise ParameterError(f"value: got {value!r}, allowed a finite number")
        i = names.index(name)
        lo, hi = self.template.bounds
        if not lo[i] <= value <= hi[i]:
            raise ParameterError(f"value: got {value!r}, allowed a number in the bounds [{lo[i]}, {hi[i]}] of {name}")
        template = self.template

        def nll(theta: np.ndarray) -> float:
            v = template.loglik(np.asarray(theta, dtype=float))
            return 1e300 if not np.isfinite(v) else -float(v)

        others = [j for j in range(self.theta.size) if j != i]
        f, _ = _profile_min(nll, self.theta, i, float(value), lo, hi, self.theta[others].copy())
        return 2.0 * (f + self.loglik)  # below 0 only where re-maximising beats the fit

    @property
    def aic(self) -> float:
        return 2 * len(self.theta) - 2 * self.loglik

    def table(self) -> list[dict[str, Any]]:
        """One row per parameter: estimate, standard error, Wald and profile intervals."""
        se = np.sqrt(np.clip(np.diag(self.covariance), 0, None)) if self.covariance is not None else None
        rows = []
        for i, p in enumerate(self.template.parameters):
            rows.append(
                {
                    "parameter": p.name,
                    "estimate": float(self.theta[i]),
                    "se": None if se is None else float(se[i]),
                    "wald": self.wald.get(p.name),
                    "profile": self.profile.get(p.name),
                    "unit": p.unit,
                    "description": p.description,
                }
            )
        return rows


def _check_template(template: Template) -> None:
    if not isinstance(template, Template) or not template.parameters:
        raise ParameterError("template: allowed a Template with at least one Parameter")


def _hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: np.ndarray) -> np.ndarray:
    """Central finite-difference Hessian of f at x."""
    n = x.size
    h = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = step[i]
        h[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / step[i] ** 2
        for j in range(i):
            ej = np.zeros(n)
            ej[j] = step[j]
            h[i, j] = h[j, i] = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (
                4 * step[i] * step[j]
            )
    return h


def fit_mle(
    template: Template,
    *,
    n_obs: int = 0,
    starts: int = 4,
    seed: int = 0,
    alpha: float = 0.05,
    profile: bool | Sequence[str] = True,
    progress: Callable[[str], None] | None = None,
) -> MLEFit:
    """Maximise the log-likelihood of ``template`` within its bounds.

    Starts: the template's start, then ``starts - 1`` points drawn uniformly in the bounds
    (``seed``); the best L-BFGS-B optimum is polished with Nelder-Mead. Intervals at level
    ``1 - alpha``: Wald from the inverse finite-difference Hessian; profile likelihood by
    re-maximising over the other parameters with one fixed: of every parameter (``True``),
    none (``False``) or the named ones (a sequence of names; each costs a few dozen inner
    maximisations, so a caller that reads a few intervals profiles only those).
    """
    _check_template(template)
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha: got {alpha!r}, allowed a number in (0, 1)")
    if isinstance(profile, (bool, np.bool_)):
        profiled = template.names if profile else []
    elif isinstance(profile, str) or not isinstance(profile, Sequence) or not all(isinstance(n, str) for n in profile):
        raise ParameterError(f"profile: got {profile!r}, allowed True, False or a sequence of parameter names")
    else:
        profiled = list(profile)
        unknown = [n for n in profiled if n not in template.names]
        if unknown:
            raise ParameterError(
                f"profile: unknown parameters {', '.join(map(repr, unknown))}; allowed {', '.join(template.names)}"
            )
    lo, hi = template.bounds
    count = [0]

    def nll(theta: np.ndarray) -> float:
        count[0] += 1
        v = template.loglik(np.asarray(theta, dtype=float))
        return 1e300 if not np.isfinite(v) else -float(v)

    rng = np.random.default_rng(seed)
    x0s = [np.array([p.start for p in template.parameters])]
    x0s += [lo + (hi - lo) * rng.random(lo.size) for _ in range(max(0, starts - 1))]
    best = None
    for k, x0 in enumerate(x0s):
        res = optimize.minimize(
            nll, x0, method="L-BFGS-B", bounds=list(zip(lo, hi)), options={"maxiter": 2000, "ftol": 1e-12, "gtol": 1e-8}
        )
        if progress is not None:
            progress(f"start {k + 1}/{len(x0s)}: log-likelihood {-res.fun:.4f}")
        if best is None or res.fun < best.fun:
            best = res
    assert best is not None
    if not best.fun < 1e299:
        raise CalibrationError(f"{template.name}: the log-likelihood is -inf at every start; check the data and bounds")
    polish = optimize.minimize(
        nll, best.x, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000 * lo.size}
    )
    x = np.clip(polish.x, lo, hi) if polish.fun <= best.fun else best.x
    f_best = min(polish.fun, best.fun)
    step = 1e-4 * np.maximum(1.0, np.abs(x))
    cov = None
    wald: dict[str, tuple[float, float]] = {}
    z = float(stats.norm.ppf(1 - alpha / 2))
    try:
        hess = _hessian(nll, x, step)
        cov = np.linalg.inv(hess)
        if np.all(np.isfinite(cov)) and np.all(np.diag(cov) > 0):
            se = np.sqrt(np.diag(cov))
            wald = {
                p.name: (float(x[i] - z * se[i]), float(x[i] + z * se[i])) for i, p in enumerate(template.parameters)
            }
        else:
            cov = None
    except np.linalg.LinAlgError:
        cov = None
    prof: dict[str, tuple[float, float]] = {}
    if profiled:
        crit = float(stats.chi2.ppf(1 - alpha, 1)) / 2
        n_prof = sum(1 for p in template.parameters if p.name in profiled)
        for i, p in enumerate(template.parameters):
            if p.name not in profiled:
                continue
            prof[p.name] = _profile_interval(nll, x, f_best, i, lo, hi, crit, cov)
            if progress is not None:
                progress(f"profile {len(prof)}/{n_prof} {p.name}: [{prof[p.name][0]:.4g}, {prof[p.name][1]:.4g}]")
    return MLEFit(
        template=template,
        theta=x,
        loglik=-float(f_best),
        n_obs=n_obs,
        covariance=cov,
        wald=wald,
        profile=prof,
        alpha=alpha,
        success=bool(best.success),
        message=str(best.message),
        n_starts=len(x0s),
        evaluations=count[0],
    )


def _profile_min(
    nll: Callable[[np.ndarray], float],
    x: np.ndarray,
    i: int,
    v: float,
    lo: np.ndarray,
    hi: np.ndarray,
    start: np.ndarray,
) -> tuple[float, np.ndarray]:
    """The smallest ``nll`` with parameter i fixed at ``v`` (L-BFGS-B over the others from
    ``start``, their values) and where it lies (the others)."""
    others = [j for j in range(x.size) if j != i]
    if not others:
        return nll(np.array([v])), start

    def g(y: np.ndarray) -> float:
        t = x.copy()
        t[i] = v
        t[others] = y
        return nll(t)

    r = optimize.minimize(
        g, start, method="L-BFGS-B", bounds=[(lo[j], hi[j]) for j in others], options={"maxiter": 500, "ftol": 1e-12}
    )
    return float(r.fun), r.x


def _profile_interval(
    nll: Callable[[np.ndarray], float],
    x: np.ndarray,
    f_best: float,
    i: int,
    lo: np.ndarray,
    hi: np.ndarray,
    crit: float,
    cov: np.ndarray | None,
) -> tuple[float, float]:
    """Where the profile negative log-likelihood of parameter i rises by ``crit`` (bounds if never)."""
    others = [j for j in range(x.size) if j != i]
    warm = {"x": x[others].copy()}

    def prof(v: float) -> float:
        f, warm["x"] = _profile_min(nll, x, i, v, lo, hi, warm["x"])
        return f

    scale = math.sqrt(cov[i, i]) if cov is not None and cov[i, i] > 0 else 0.1 * (hi[i] - lo[i])
    out = []
    for sign, edge in ((-1, lo[i]), (1, hi[i])):
        warm["x"] = x[others].copy()
        a, fa = x[i], -crit  # the maximum: no rise yet
        b = x[i]
        step = 2.0 * scale
        fb = 0.0
        while True:  # bracket the rise
            b = x[i] + sign * step
            if (sign < 0 and b <= edge) or (sign > 0 and b >= edge):
                b = edge
                fb = prof(b) - f_best - crit
                break
            fb = prof(b) - f_best - crit
            if fb > 0:
                break
            a, fa = b, fb
            step *= 2
        if fb <= 0:
            out.append(float(edge))
            continue
        # Illinois regula falsi on the rise, which keeps the root bracketed by the sign of each
        # evaluation (robust to the small noise of the inner re-maximisation) and converges
        # superlinearly: about 5 inner maximisations a side instead of ~17 for bisection
        tol = 1e-5 * max(1.0, abs(x[i]))
        side = 0
        for _ in range(100):
            if abs(b - a) <= tol:
                break
            mid = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
            if not min(a, b) < mid < max(a, b):
                mid = 0.5 * (a + b)
            fm = prof(mid) - f_best - crit
            if abs(fm) < 1e-6:
                a = b = mid
                break
            if fm > 0:
                b, fb = mid, fm
                if side == 1:
                    fa *= 0.5
                side = 1
            else:
                a, fa = mid, fm
                if side == -1:
                    fb *= 0.5
                side = -1
        out.append(float(0.5 * (a + b)))
    return out[0], out[1]


@dataclass
class LeastSquaresFit:
    """A bounded least-squares fit (``scipy.optimize.least_squares``)."""

    names: list[str]
    theta: np.ndarray
    residual_sum_of_squares: float
    n_obs: int
    covariance: np.ndarray | None
    success: bool
    message: str
    result: Any = field(repr=False, default=None)

    @property
    def standard_errors(self) -> dict[str, float]:
        if self.covariance is None:
            return {}
        return dict(zip(self.names, np.sqrt(np.clip(np.diag(self.covariance), 0, None)).tolist()))


def fit_least_squares(
    residuals: Callable[[np.ndarray], np.ndarray],
    start: Sequence[float],
    bounds: tuple[Sequence[float], Sequence[float]],
    names: Sequence[str],
    **options: Any,
) -> LeastSquaresFit:
    """Minimise ``sum(residuals(theta)**2)`` in the bounds (trust-region reflective); the
    covariance is the Gauss-Newton ``s^2 (J^T J)^-1`` with ``s^2 = RSS / (n - p)``. ``options``
    go to ``scipy.optimize.least_squares`` (x_scale, diff_step, tolerances, max_nfev)."""
    x0 = np.asarray(start, dtype=float)
    lo, hi = (np.asarray(b, dtype=float) for b in bounds)
    if x0.shape != lo.shape or lo.shape != hi.shape or len(names) != x0.size:
        raise ParameterError("fit_least_squares: start, bounds and names must have one entry per parameter")
    x0 = np.clip(x0, lo + 1e-9, hi - 1e-9)
    res = optimize.least_squares(residuals, x0, bounds=(lo, hi), **options)
    rss = float(np.sum(res.fun**2))
    dof = max(res.fun.size - x0.size, 1)
    try:
        cov = np.linalg.inv(res.jac.T @ res.jac) * max(rss / dof, 1e-30)
    except np.linalg.LinAlgError:
        cov = None
    return LeastSquaresFit(
        names=list(names),
        theta=res.x,
        residual_sum_of_squares=rss,
        n_obs=int(res.fun.size),
        covariance=cov,
        success=bool(res.success),
        message=str(res.message),
        result=res,
    )


@dataclass
class BayesFit:
    """Posterior samples (draws x parameters, walkers pooled after burn-in) and diagnostics."""

    template: Template
    samples: np.ndarray
    chains: np.ndarray  # (walkers, kept steps, parameters)
    rhat: dict[str, float]
    ess: dict[str, float]
    acceptance: float
    alpha: float

    def table(self) -> list[dict[str, Any]]:
        q = [self.alpha / 2, 0.5, 1 - self.alpha / 2]
        rows = []
        for i, p in enumerate(self.template.parameters):
            lo, med, hi = np.quantile(self.samples[:, i], q)
            rows.append(
                {
                    "parameter": p.name,
                    "mean": float(self.samples[:, i].mean()),
                    "median": float(med),
                    "sd": float(self.samples[:, i].std(ddof=1)),
                    "interval": (float(lo), float(hi)),
                    "rhat": self.rhat[p.name],
                    "ess": self.ess[p.name],
                }
            )
        return rows


def fit_bayes(
    template: Template,
    *,
    start: np.ndarray | None = None,
    walkers: int = 32,
    steps: int = 1500,
    burn: int = 500,
    seed: int = 0,
    alpha: float = 0.05,
    covariance: np.ndarray | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> BayesFit:
    """Sample the posterior ``prior x likelihood`` with emcee, walkers started around ``start``
    (e.g. the MLE): drawn from N(start, covariance) when a covariance is given (the MLE's inverse
    Hessian: walkers start spread like the posterior, so burn-in need not expand a tiny ball),
    else from a small ball. Moves: differential evolution (80%) and its snooker variant (20%),
    which follow correlated ridges better than the default stretch move (emcee docs, "moves").
    R-hat (rank-normalised, split) and bulk ESS by arviz over the walkers."""
    import arviz as az
    import emcee

    _check_template(template)
    n = len(template.parameters)
    if walkers < 2 * n or steps <= burn or burn < 0:
        raise ParameterError(f"fit_bayes: allowed walkers >= {2 * n} (2 x parameters) and steps > burn >= 0")
    lo, hi = template.bounds
    x0 = np.array([p.start for p in template.parameters]) if start is None else np.asarray(start, dtype=float)
    rng = np.random.default_rng(seed)
    if covariance is not None and np.all(np.isfinite(covariance)) and np.all(np.linalg.eigvalsh(covariance) > 0):
        ball = rng.multivariate_normal(x0, covariance, size=walkers)
    else:
        ball = x0 + 1e-3 * (hi - lo) * rng.standard_normal((walkers, n))
    ball = np.clip(ball, lo + 1e-9 * (hi - lo), hi - 1e-9 * (hi - lo))

    def log_post(theta: np.ndarray) -> float:
        lp = template.log_prior(theta)
        if not np.isfinite(lp):
            return -np.inf
        ll = template.loglik(theta)
        return lp + ll if np.isfinite(ll) else -np.inf

    moves = [(emcee.moves.DEMove(), 0.8), (emcee.moves.DESnookerMove(), 0.2)]
    sampler = emcee.EnsembleSampler(walkers, n, log_post, moves=moves)
    sampler._random = np.random.mtrand.RandomState(seed)  # emcee's legacy RNG: reproducible from the seed
    state = ball
    done = 0
    block = max(1, steps // 50)
    while done < steps:
        k = min(block, steps - done)
        state = sampler.run_mcmc(state, k, progress=False)
        done += k
        if progress is not None:
            progress(done, steps)
    chain = sampler.get_chain()[burn:]  # (steps, walkers, n)
    chains = np.transpose(chain, (1, 0, 2))
    rhat, ess = {}, {}
    for i, p in enumerate(template.parameters):
        rhat[p.name] = float(az.rhat(chains[:, :, i]))
        ess[p.name] = float(az.ess(chains[:, :, i]))
    return BayesFit(
        template=template,
        samples=chains.reshape(-1, n),
        chains=chains,
        rhat=rhat,
        ess=ess,
        acceptance=float(np.mean(sampler.acceptance_fraction)),
        alpha=alpha,
    )
