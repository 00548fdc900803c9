#!/usr/bin/python3
"""Table, fits and plot of the scaling study (scaling.sh plot; docs/experiments.md section 3).

Reads, in --run-dir, each run's model config (model_SIZE_FAMILY.json), training metrics
(run_SIZE_FAMILY/metrics.jsonl) and evaluation (eval_SIZE_FAMILY.json, written by scaling.sh eval).

Training compute per token: 6 x (non-embedding parameters + the head's d x V products) for the
weights, plus 12 x layers x sequence x d for attention's two products (forward and backward, the
full sequence for both families: our causal kernel computes the whole score matrix too). The input
embedding is a row lookup and costs nothing.

Fits: per family, log(NLL) = log(a) - b log(C) by least squares over the final points (one per
size). The compute factor is C_LLaDA(NLL_AR) / C_AR: how much more compute the LLaDA fit needs to
reach each AR model's held-out NLL (an extrapolation when that NLL lies beyond LLaDA's points).
LLaDA's NLL is the diffusion bound (an upper bound on its true NLL), as in the paper.

With --compare J (an earlier run's --out-json, e.g. the same sizes at a smaller token budget), its
final points and fits are drawn hollow beside this run's, and the Markdown gains a second table
(each size and family's NLL then and now) and the earlier fits and compute factors, so the effect
of the budget on each family's slope and on the gap is visible.

usage: scaling_plot.py --run-dir D --sizes "s m l" --families "diffusion ar"
                       --out-png P --out-md M --out-json J [--compare J --compare-label TEXT]
"""
import argparse
import json
import math
import os

from exp_io import read_jsonl, save_figure_atomic, write_text_atomic

NAMES = {"diffusion": "LLaDA", "ar": "AR"}


def count(cfg):
    d, layers, v = cfg["d_model"], cfg["n_layers"], cfg["vocab_size"]
    hd = d // cfg["n_heads"]
    kv = cfg.get("n_kv_heads") or cfg["n_heads"]
    per_layer = d * d + 2 * d * kv * hd + d * d + 3 * d * cfg["mlp_hidden_size"] + 2 * d
    non_emb = layers * per_layer + d
    total = non_emb + v * d * (1 if cfg.get("weight_tying") else 2)
    return non_emb, total


def flops_per_token(cfg, seq):
    non_emb, _ = count(cfg)
    return 6 * (non_emb + cfg["d_model"] * cfg["vocab_size"]) + 12 * cfg["n_layers"] * seq * cfg["d_model"]


def fit(points):
    """(a, b) of nll = a C^-b by least squares in log-log; None for fewer than two points."""
    if len(points) < 2:
        return None
    xs = [math.log(c) for c, _ in points]
    ys = [math.log(l) for _, l in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return math.exp(my - slope * mx), -slope


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--sizes", required=True)
    ap.add_argument("--families", required=True)
    ap.add_argument("--out-png", required=True)
    ap.add_argument("--out-md", required=True)
    ap.add_argument("--out-json", required=True)
    ap.add_argument("--compare", help="an earlier run's --out-json, drawn hollow beside this one")
    ap.add_argument("--compare-label", default="earlier run")
    a = ap.parse_args()
    earlier = json.load(open(a.compare)) if a.compare else None
    rows, curves = [], {}
    for size in a.sizes.split():
        for fam in a.families.split():
            tag = f"{size}_{fam}"
            cfg = json.load(open(os.path.join(a.run_dir, f"model_{tag}.json")))
            run_cfg = json.load(open(os.path.join(a.run_dir, f"run_{tag}.json")))
            seq, batch = run_cfg["seq_len"], run_cfg["batch_size"]
            metrics = read_jsonl(os.path.join(a.run_dir, f"run_{tag}", "metrics.jsonl"))
            ev = json.load(open(os.path.join(a.run_dir, f"eval_{tag}.json")))
            ppl, mc = ev["ppl"]["tasks"][0], ev["mc"]["tasks"][0]
            fpt = flops_per_token(cfg, seq)
            steps = max(m["step"] for m in metrics)
            tokens = max(m.get("tokens", 0) for m in metrics) or steps * batch * seq
            wall = max(m.get("elapsed_s", 0) for m in metrics)
            non_emb, total = count(cfg)
            acc, n = mc["score"], mc["items"]
            rows.append({"size": size, "family": fam, "non_embedding_params": non_emb, "params": total,
                         "tokens": tokens, "flops": fpt * tokens, "nll": ppl["score"],
                         "nll_std_error": ppl["std_error"], "nll_is_bound": ppl["bound"],
                         "couplet_acc": acc, "couplet_std_error": math.sqrt(max(acc * (1 - acc), 1e-12) / n),
                         "couplet_items": n, "wall_s": wall, "steps": steps})
            curves[tag] = [(m["step"] * batch * seq * fpt, m["eval_loss"]) for m in metrics if "eval_loss" in m]

    fits = {}
    for fam in a.families.split():
        f = fit([(r["flops"], r["nll"]) for r in rows if r["family"] == fam])
        if f:
            fits[fam] = {"a": f[0], "b": f[1]}
    factors = []
    if "diffusion" in fits:
        fa, fb = fits["diffusion"]["a"], fits["diffusion"]["b"]
        for r in rows:
            if r["family"] != "ar":
                continue
            need = (fa / r["nll"]) ** (1 / fb) if fb > 0 else float("inf")
            factors.append({"size": r["size"], "ar_nll": r["nll"], "ar_flops": r["flops"],
                            "llada_flops_needed": need, "factor": need / r["flops"]})

    out = {"rows": rows, "fits": fits, "compute_factors": factors}
    write_text_atomic(a.out_json, json.dumps(out, indent=1) + "\n")

    md = ["| size | family | non-emb. params | params | tokens | training FLOPs | held-out NLL (nats/token) | couplet MC accuracy | wall |",
          "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['size']} | {NAMES.get(r['family'], r['family'])} | {r['non_embedding_params'] / 1e6:.2f}M | "
                  f"{r['params'] / 1e6:.2f}M | {r['tokens'] / 1e6:.1f}M | {r['flops']:.2e} | "
                  f"{'<= ' if r['nll_is_bound'] else ''}{r['nll']:.3f} +- {r['nll_std_error']:.3f} | "
                  f"{100 * r['couplet_acc']:.1f}% +- {100 * r['couplet_std_error']:.1f} (n={r['couplet_items']}) | "
                  f"{r['wall_s'] / 60:.1f} min |")
    md.append("")
    for fam, f in fits.items():
        md.append(f"- fit {NAMES.get(fam, fam)}: NLL = {f['a']:.3g} x C^-{f['b']:.4f}")
    for x in factors:
        md.append(f"- AR size {x['size']} (NLL {x['ar_nll']:.3f} at {x['ar_flops']:.2e} FLOPs): the LLaDA fit "
                  f"reaches it at {x['llada_flops_needed']:.2e} FLOPs, **{x['factor']:.1f}x** the compute")
    if earlier:
        md += ["", f"Against {a.compare_label}:", "",
               "| size | family | tokens then / now | held-out NLL then | now | change |", "|---|---|---|---|---|---|"]
        then = {(r["size"], r["family"]): r for r in earlier["rows"]}
        for r in rows:
            e = then.get((r["size"], r["family"]))
            if e:
                md.append(f"| {r['size']} | {NAMES.get(r['family'], r['family'])} | {e['tokens'] / 1e6:.1f}M / "
                          f"{r['tokens'] / 1e6:.1f}M | {e['nll']:.3f} | {r['nll']:.3f} | {r['nll'] - e['nll']:+.3f} |")
        md.append("")
        for fam, f in earlier.get("fits", {}).items():
            md.append(f"- {a.compare_label}, fit {NAMES.get(fam, fam)}: NLL = {f['a']:.3g} x C^-{f['b']:.4f}")
        for x in earlier.get("compute_factors", []):
            md.append(f"- {a.compare_label}, AR size {x['size']}: **{x['factor']:.1f}x** the compute")
    write_text_atomic(a.out_md, "\n".join(md) + "\n")
    print("\n".join(md))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.8))
    colors = {"diffusion": "tab:blue", "ar": "tab:orange"}
    for fam in a.families.split():
        pts = [r for r in rows if r["family"] == fam]
        c = colors.get(fam, "k")
        for r in pts:
            cur = curves.get(f"{r['size']}_{fam}", [])
            if cur:
                ax1.plot([x for x, _ in cur], [y for _, y in cur], color=c, alpha=0.3, lw=1)
        ax1.errorbar([r["flops"] for r in pts], [r["nll"] for r in pts], yerr=[r["nll_std_error"] for r in pts],
                     fmt="o", color=c, label=f"{NAMES.get(fam, fam)} (final, held-out)")
        for r in pts:
            ax1.annotate(r["size"], (r["flops"], r["nll"]), textcoords="offset points", xytext=(4, 4))
        if fam in fits:
            lo, hi = min(r["flops"] for r in pts) / 2, max(r["flops"] for r in pts) * 4
            xs = [lo * (hi / lo) ** (k / 40) for k in range(41)]
            ax1.plot(xs, [fits[fam]["a"] * x ** -fits[fam]["b"] for x in xs], "--", color=c,
                     label=f"fit: C^-{fits[fam]['b']:.3f}")
        ax2.errorbar([r["flops"] for r in pts], [100 * r["couplet_acc"] for r in pts],
                     yerr=[100 * r["couplet_std_error"] for r in pts], fmt="o-", color=c,
                     label=NAMES.get(fam, fam))
        if earlier:
            old = [r for r in earlier["rows"] if r["family"] == fam]
            ax1.plot([r["flops"] for r in old], [r["nll"] for r in old], "o", mfc="none", color=c,
                     label=f"{NAMES.get(fam, fam)}, {a.compare_label}")
            of = earlier.get("fits", {}).get(fam)
            if of and old:
                lo, hi = min(r["flops"] for r in old) / 2, max(r["flops"] for r in old) * 4
                xs = [lo * (hi / lo) ** (k / 40) for k in range(41)]
                ax1.plot(xs, [of["a"] * x ** -of["b"] for x in xs], ":", color=c)
            ax2.plot([r["flops"] for r in old], [100 * r["couplet_acc"] for r in old], "o:", mfc="none", color=c,
                     label=f"{NAMES.get(fam, fam)}, {a.compare_label}")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.set_xlabel("training FLOPs")
    ax1.set_ylabel("held-out NLL per token (LLaDA: bound)")
    ax1.set_title("held-out loss (thin: training-time evaluations)")
    ax1.legend(fontsize=8)
    ax2.axhline(25, color="gray", ls=":", label="chance")
    ax2.set_xscale("log")
    ax2.set_xlabel("training FLOPs")
    ax2.set_ylabel("couplet multiple choice accuracy (%)")
    ax2.set_title("held-out couplets, 4 choices")
    ax2.legend(fontsize=8)
    fig.tight_layout()
    save_figure_atomic(fig, a.out_png)


if __name__ == "__main__":
    main()
