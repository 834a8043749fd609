"""The report a person reads: ``report.html`` (one self-contained file: inline CSS and SVG,
no script, no network) and ``memory_plan.svg`` (the arena over time: one bar per buffer at
its offset for the steps it lives, the peak marked), written by every build beside
``report.json``."""

from __future__ import annotations

from html import escape

from edgec import __version__

_W, _H, _PAD = 760, 320, 40


def _regions(plan):
    """``(names, bytes, offset, first, last)`` per drawn rectangle: each tensor of a group
    that shares bytes (in place, trailing writes) at its own offset and life, so the
    picture shows the arena over time; tensors sharing offset and bytes are one rectangle."""
    life = plan.lifetimes
    spans = getattr(life, "span", {})
    sizes = getattr(plan, "tensor_bytes", {})
    regions = []
    for b, offset in zip(plan.buffers, plan.buffer_offsets):
        members = plan.members.get(b.name, [b.name])
        if len(members) < 2 or not all(m in spans and m in sizes for m in members):
            regions.append((", ".join(members), b.size, offset, b.first, b.last))
            continue
        for m in members:
            first, last = spans[m]
            regions.append((m, sizes[m], plan.offsets[m], first, last))
    return regions


def memory_plan_svg(plan, steps: int) -> str:
    """Steps on x, arena bytes on y; each buffer a rectangle, the arena size a red line."""
    arena = max(plan.arena_bytes, 1)
    steps = max(steps, 1)
    sx, sy = (_W - 2 * _PAD) / steps, (_H - 2 * _PAD) / arena
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
             f'viewBox="0 0 {_W} {_H}" font-family="sans-serif" font-size="11">',
             f'<title>memory plan: arena {plan.arena_bytes} B</title>',
             f'<rect x="{_PAD}" y="{_PAD}" width="{_W - 2 * _PAD}" height="{_H - 2 * _PAD}" '
             'fill="#f7f7f7" stroke="#999"/>']
    for i, (name, size, offset, first, last) in enumerate(_regions(plan)):
        x = _PAD + first * sx
        y = _H - _PAD - (offset + size) * sy
        hue = (i * 47) % 360
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{(last - first + 1) * sx:.1f}" '
                     f'height="{max(size * sy, 1):.1f}" fill="hsl({hue},60%,65%)" '
                     f'stroke="#333" stroke-width="0.5"><title>{escape(name)}: {size} B at '
                     f'{offset}, steps {first}-{last}</title></rect>')
    top = _PAD
    parts.append(f'<line x1="{_PAD}" y1="{top}" x2="{_W - _PAD}" y2="{top}" stroke="red" '
                 'stroke-dasharray="4 2"/>')
    parts.append(f'<text x="{_W - _PAD}" y="{top - 6}" text-anchor="end" fill="red">peak: '
                 f'arena {plan.arena_bytes} B</text>')
    parts.append(f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">step (kernel)</text>')
    parts.append(f'<text x="12" y="{_H / 2}" transform="rotate(-90 12 {_H / 2})" '
                 'text-anchor="middle">arena offset (bytes)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _macs_chart(kernels: list[dict], key: str = "macs", fill: str = "#4a8") -> str:
    top = max([k[key] or 0 for k in kernels] + [1])
    rows = []
    for i, k in enumerate(kernels):
        width = 400 * (k[key] or 0) / top
        rows.append(f'<rect x="160" y="{i * 18}" width="{width:.1f}" height="14" '
                    f'fill="{fill}"/><text x="155" y="{i * 18 + 11}" text-anchor="end">'
                    f'{escape(k["op"])} #{k["step"]}</text><text x="{165 + width:.1f}" '
                    f'y="{i * 18 + 11}">{k[key] or 0:,}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="700" height="{18 * len(kernels)}" '
            f'font-family="sans-serif" font-size="11">{"".join(rows)}</svg>')


def report_html(report: dict, svg: str) -> str:
    """The whole report as one HTML page."""
    t = report["totals"]

    def num(v):
        return "n/a" if v is None else f"{v:,}"

    totals = [("flash (weights + code)", f"{num(t.get('flash_bytes'))} B"),
              ("weights", f"{num(t['weight_bytes'])} B"), ("code", f"{num(t.get('code_bytes'))} B"),
              ("arena (RAM)", f"{num(t['arena_bytes'])} B"),
              ("arena lower bound", f"{num(t['lower_bound_bytes'])} B"),
              ("state (kept between calls)", f"{num(t.get('state_bytes', 0))} B"),
              ("stack (worst call chain)", f"{num(t.get('stack_bytes'))} B"),
              ("MACs", num(t["macs"]))]
    estimate = report.get("estimate")
    if estimate is not None:
        totals.append(("instructions (estimate)", num(estimate["instructions"])))
        if estimate["ms"] is not None:
            totals.append((f"latency at {estimate['clock_hz'] / 1e6:g} MHz (estimate)",
                           f"{estimate['ms']:.2f} ms"))
    app = report.get("application")
    if app is not None:
        totals.append((f"application flash on {app['board']} (estimate)",
                       f"{num(app['flash_bytes'])} of {num(app['flash_limit'])} B"))
        totals.append((f"application RAM on {app['board']} (estimate)",
                       f"{num(app['ram_bytes'])} of {num(app['ram_limit'])} B"))
    rows = "".join(f"<tr><td>{k['step']}</td><td>{escape(k['op'])}</td>"
                   f"<td>{escape(str(k['node']))}</td><td>{num(k['macs'])}</td>"
                   f"<td>{num(k['weight_bytes'])}</td><td>{num(k.get('scratch_bytes'))}</td>"
                   f"<td>{num(k.get('estimated_instructions'))}</td></tr>"
                   for k in report["kernels"])
    chart = ""
    if estimate is not None:
        chart = (f"<h2>Estimated instructions per kernel</h2><p>{escape(estimate['label'])}"
                 f"</p>{_macs_chart(report['kernels'], 'estimated_instructions', '#48a')}")
    cells = "".join(f'<tr><th>{escape(a)}</th><td class="total">{escape(b)}</td></tr>'
                    for a, b in totals)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>edgec report: {escape(report['name'])}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 8px;text-align:left}}td.total{{text-align:right}}</style>
</head><body>
<h1>{escape(report['name'])} for {escape(report['target'])}</h1>
<p>model {escape(report['model'])} (sha256 <code>{escape(report.get('model_sha256', '?'))}
</code>), edgec {escape(report.get('edgec_version', __version__))}, optimize
{escape(report['optimize']['mode'])}, kernels {escape(report['kernel_choice'])}</p>
<h2>Totals</h2><table id="totals">{cells}</table>
<h2>Memory plan</h2>{svg.split('?>')[-1]}
<h2>MACs per kernel</h2>{_macs_chart(report['kernels'])}
{chart}
<h2>Kernels</h2><table><tr><th>step</th><th>op</th><th>node</th><th>MACs</th>
<th>weight bytes</th><th>scratch bytes</th><th>est. instructions</th></tr>{rows}</table>
</body></html>
"""
