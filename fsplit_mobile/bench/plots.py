"""PNG plots (matplotlib, Agg): per-stage latency bars per target x quantization, and latency distributions."""

from pathlib import Path

from .report import label as _label


def label(result) -> str:
    """Two-line axis label: target-quantization [runner] / device."""
    return _label(result).replace(" @ ", "\n", 1)


STAGES = (("preprocess_ms", "preprocess"), ("encoder_ms", "encoder"), ("entropy_ms", "entropy coding"))


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_stage_bars(results, path) -> Path:
    """Stacked bars of median per-stage latency, one bar per result (target x quantization x device)."""
    plt = _pyplot()
    labels = [label(r) for r in results]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(results) + 3), 4.5))
    bottom = [0.0] * len(results)
    for key, name in STAGES:
        values = [r["stages"][key].get("p50") or 0.0 for r in results]
        ax.bar(range(len(results)), values, bottom=bottom, label=name)
        bottom = [b + v for b, v in zip(bottom, values)]
    for i, r in enumerate(results):
        p90 = r["stages"]["total_ms"].get("p90")
        if p90 is not None:
            ax.plot([i - 0.3, i + 0.3], [p90, p90], color="black", linewidth=1)
    ax.set_xticks(range(len(results)), labels, rotation=0, fontsize=7)
    ax.set_ylabel("median latency per image [ms] (line: total p90)")
    ax.set_title("fsplit-bench: per-stage latency")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_distribution(results, path) -> Path:
    """Box plot of total per-image latency of each result."""
    plt = _pyplot()
    data = [[s["total_ms"] for s in r.get("samples", [])] or [0.0] for r in results]
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(results) + 3), 4.5))
    ax.boxplot(data, showfliers=True)
    ax.set_xticks(range(1, len(results) + 1), [label(r) for r in results], rotation=0, fontsize=7)
    ax.set_ylabel("total latency per image [ms]")
    ax.set_title("fsplit-bench: latency distribution")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_results(results, out_dir) -> list[Path]:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [plot_stage_bars(results, out_dir / "stages.png"), plot_distribution(results, out_dir / "latency.png")]
