"""Efficiency curves to the plateau (issue 30), drawn from the converged sweeps' committed rows.

- validation loss and the study's window accuracy against training tokens and against training
  minutes, epoch by epoch to the plateau, for the three study families at the base scale (the
  ``scale`` sweep: benchmarks/results/converge-scale.json, every seed);
- bits per note on the study's unseen test songs against the share of the training songs (the
  ``efficiency`` sweep's 1/8, 1/4 and 1/2, the ``scale`` sweep's whole set), the mean over seeds,
  with a power law ``bits = a * share ** -alpha`` fitted by least squares on the logarithms
  where a family has three shares or more;
- the ablation's curves: validation loss and window accuracy against tokens for every variant
  (seed 0), beside the accuracy of the study's collapsed runs (0.5035, the constant predictor),
  so that a collapse at plateau would show as a flat line.

Writes docs/results/converge/efficiency.png, ablation.png and efficiency.md; shares and
variants not yet run are left out and said so.

    python benchmarks/converge_figures.py
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import converge  # noqa: E402

OUT = HERE.parent / "docs" / "results" / "converge"
FAMILIES = ("lstm", "transformer", "hybrid")
COLLAPSED = 0.5035  # the study's test accuracy of the Hybrid without L2, and with 1e-5 or 1


def power_law(shares: list[float], bits: list[float]) -> tuple[float, float, float] | None:
    """``(a, alpha, worst relative residual)`` of ``bits = a * share ** -alpha`` fitted on the
    logarithms; None below three points."""
    if len(shares) < 3:
        return None
    xs, ys = [math.log(s) for s in shares], [math.log(b) for b in bits]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    a, alpha = math.exp(my - slope * mx), -slope
    worst = max(abs(a * s**-alpha - b) / b for s, b in zip(shares, bits))
    return a, alpha, worst


def data_points(scale_rows: list[dict], efficiency_rows: list[dict]) -> dict[str, list[tuple]]:
    """Per family, ``(share, mean bits per note, seeds)`` sorted by share."""
    groups: dict[tuple, list[float]] = {}
    for r in scale_rows:
        if r["variant"] in FAMILIES:
            groups.setdefault((r["variant"], 1.0), []).append(r["bits_per_note"])
    for r in efficiency_rows:
        spec = converge.SWEEPS["efficiency"].get(r["variant"])
        if spec is not None:
            groups.setdefault((spec["model"], spec["train_fraction"]), []).append(r["bits_per_note"])
    out: dict[str, list[tuple]] = {f: [] for f in FAMILIES}
    for (family, share), bits in sorted(groups.items()):
        out[family].append((share, sum(bits) / len(bits), len(bits)))
    return out


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def draw(scale_rows: list[dict], points: dict[str, list[tuple]], path: Path) -> None:
    plt = _pyplot()
    colors = {"lstm": "tab:blue", "transformer": "tab:orange", "hybrid": "tab:green"}
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    panels = [
        (axes[0, 0], "tokens_seen", 1e6, "training tokens (M)", "val_loss", "validation loss (nats a token)"),
        (axes[0, 1], "elapsed_seconds", 60, "training minutes (one core)", "val_loss", "validation loss (nats a token)"),
        (axes[1, 0], "tokens_seen", 1e6, "training tokens (M)", "val_study_accuracy", "validation window accuracy"),
        (axes[1, 1], "elapsed_seconds", 60, "training minutes (one core)", "val_study_accuracy",
         "validation window accuracy"),
    ]  # fmt: skip
    for ax, x, scale, xlabel, y, ylabel in panels:
        for r in scale_rows:
            if r["variant"] not in FAMILIES:
                continue
            curve = [c for c in r["curve"] if y in c]
            ax.plot([c[x] / scale for c in curve], [c[y] for c in curve], color=colors[r["variant"]],
                    alpha=1.0 if r["seed"] == 0 else 0.45, lw=1.4,
                    label=r["variant"] if r["seed"] == 0 else None)  # fmt: skip
            best = curve[r["best_epoch"] - 1]
            ax.plot([best[x] / scale], [best[y]], "o", color=colors[r["variant"]], ms=4)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0, 0].legend(title="dot: the plateau's best epoch")
    ax = axes[0, 2]
    for family, pts in points.items():
        if not pts:
            continue
        shares, bits = [p[0] for p in pts], [p[1] for p in pts]
        ax.plot(shares, bits, "o", color=colors[family], label=family)
        fit = power_law(shares, bits)
        if fit:
            a, alpha, _ = fit
            grid = [min(shares) * (max(shares) / min(shares)) ** (i / 40) for i in range(41)]
            ax.plot(grid, [a * s**-alpha for s in grid], color=colors[family], lw=1,
                    label=f"{family}: {a:.2f} x share^-{alpha:.3f}")  # fmt: skip
    ax.set_xscale("log", base=2)
    ax.set_xlim(1 / 10, 1.25)
    ax.set_xticks([1 / 8, 1 / 4, 1 / 2, 1], ["1/8", "1/4", "1/2", "all"])
    ax.set_xlabel("share of the training songs (shares not yet run are missing)")
    ax.set_ylabel("bits per note, unseen test songs")
    ax.legend()
    ax.grid(alpha=0.3)
    axes[1, 2].axis("off")
    fig.suptitle("To the plateau at the base scale (benchmarks/converge.py)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def draw_ablation(rows: list[dict], path: Path) -> None:
    plt = _pyplot()
    fig, (loss, acc) = plt.subplots(1, 2, figsize=(15, 6))
    cmap = plt.get_cmap("tab20")
    for k, r in enumerate(r for r in rows if r["seed"] == 0):
        curve = r["curve"]
        style = {"color": "black", "lw": 2.2} if k == 0 else {"color": cmap(k % 20), "lw": 1.2}
        tokens = [c["tokens_seen"] / 1e6 for c in curve]
        loss.plot(tokens, [c["val_loss"] for c in curve], label=r["variant"], **style)
        acc.plot(tokens, [c.get("val_study_accuracy", float("nan")) for c in curve], **style)
    acc.axhline(COLLAPSED, ls="--", color="grey")
    acc.annotate(f"the study's collapsed runs ({COLLAPSED}: the constant predictor)", (0.5, COLLAPSED + 0.005),
                 color="grey")  # fmt: skip
    for ax, label in ((loss, "validation loss (nats a token)"), (acc, "validation window accuracy")):
        ax.set_xlabel("training tokens (M)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    loss.legend(fontsize=8, title="base in black")
    fig.suptitle("The study's Hybrid ablations to the plateau, base scale, seed 0 (benchmarks/converge.py)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def table(points: dict[str, list[tuple]]) -> str:
    lines = ["| family | share of training songs | bits per note (unseen) | seeds |", "|---|---|---|---|"]
    for family, pts in points.items():
        lines += [f"| {family} | {share:g} | {bits:.4f} | {n} |" for share, bits, n in pts]
    lines += ["", "| family | power law fitted | worst relative residual |", "|---|---|---|"]
    for family, pts in points.items():
        fit = power_law([p[0] for p in pts], [p[1] for p in pts])
        lines.append(
            f"| {family} | {fit[0]:.3f} x share^-{fit[1]:.4f} | {fit[2]:.2%} |"
            if fit
            else f"| {family} | none yet: {len(pts)} share(s) run, three needed | – |"
        )
    return "\n".join(lines)


def main() -> int:
    scale_rows, efficiency_rows = converge.rows("scale"), converge.rows("efficiency")
    if not scale_rows:
        sys.exit("benchmarks/results/converge-scale.json has no rows yet: nothing to draw")
    points = data_points(scale_rows, efficiency_rows)
    draw(scale_rows, points, OUT / "efficiency.png")
    ablation = converge.rows("ablation")
    if ablation:
        draw_ablation(ablation, OUT / "ablation.png")
    text = "\n".join(
        [
            "# Efficiency to the plateau (benchmarks/converge_figures.py)",
            "",
            __doc__.split("\n\n")[1].strip(),
            "",
            table(points),
            "",
            "![efficiency to the plateau](efficiency.png)",
            "",
            f"Ablation curves ({len({r['variant'] for r in ablation})} of "
            f"{len(converge.SWEEPS['ablation'])} variants in):",
            "",
            "![the ablations to the plateau](ablation.png)",
            "",
        ]
    )
    (OUT / "efficiency.md").write_text(text)
    print(OUT / "efficiency.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
