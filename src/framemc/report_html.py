"""A counterexample as one self-contained HTML page for a reviewer.

Design: the page holds, in order, the violation (kind, message, the
violated invariant and its witness values as a table), the swimlane (one
column per thread, one row per step, involved steps highlighted) and the
happens-before graph drawn as inline SVG: events at (thread, step) grid
positions, program-order edges solid, reads-from and synchronises-with
dashed, a racing pair red.  No scripts, fonts or links to fetch; the page
is well-formed XML (XHTML syntax), so it parses with any XML parser, and
is deterministic like every other rendering of a trace.
"""

from __future__ import annotations

from html import escape
from typing import Any

from framemc.explorer import Counterexample

__all__ = ["to_html"]

_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; font-family: monospace; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
tr.marked td { background: #fde2e2; }
.preempt { color: #a05a00; font-weight: bold; }
.message { font-family: monospace; background: #f6f6f6; padding: 0.6em; white-space: pre-wrap; }
svg text { font-family: monospace; font-size: 11px; }
"""

_COL = 250
_ROW = 44
_BOX_W = 230
_BOX_H = 28
_EDGE_STYLE = {"po": ("#444", ""), "rf": ("#1f5fbf", "6,4"), "sw": ("#1f8f3f", "6,4"), "race": ("#d00000", "2,3")}


def _e(value: Any) -> str:
    # XML forbids most control characters even when escaped: show them as \xNN instead
    text = "".join(c if c >= " " or c in "\t\n\r" else f"\\x{ord(c):02x}" for c in str(value))
    return escape(text, quote=True)


def _violation(cx: Counterexample) -> list[str]:
    out = [f"<h1>{_e(cx.kind.value)} violation</h1>", f'<p class="message">{_e(cx.message)}</p>',
           "<table>",
           f"<tr><th>memory model</th><td>{_e(cx.memory_model)}</td></tr>",
           f"<tr><th>threads</th><td>{_e(', '.join(f'T{i} {n}' for i, n in enumerate(cx.threads)))}</td></tr>",
           f"<tr><th>steps</th><td>{len(cx.events)} ({cx.preemptions} preemptions)</td></tr>"]
    if cx.invariant is not None:
        out.append(f"<tr><th>violated invariant</th><td>{_e(cx.invariant)}</td></tr>")
    out.append("</table>")
    if cx.witness:
        out += ["<h2>Witness values</h2>", "<table>", "<tr><th>name</th><th>value</th></tr>"]
        out += [f"<tr><td>{_e(k)}</td><td>{_e(cx.witness[k])}</td></tr>" for k in sorted(cx.witness)]
        out.append("</table>")
    return out


def _swimlane(cx: Counterexample) -> list[str]:
    head = "".join(f"<th>T{i} {_e(n)}</th>" for i, n in enumerate(cx.threads))
    out = ["<h2>Swimlane</h2>", "<table>", f"<tr><th>step</th>{head}<th>source</th></tr>"]
    for e in cx.events:
        cells = ["<td></td>"] * len(cx.threads)
        pre = '<span class="preempt" title="preemption">^ </span>' if e.preemption else ""
        cells[e.thread] = f"<td>{pre}{_e(e.describe())}</td>"
        cls = ' class="marked"' if e.step in cx.marked else ""
        out.append(f"<tr{cls}><td>{e.step}</td>{''.join(cells)}<td>{_e(e.source)}</td></tr>")
    out.append("</table>")
    if cx.marked:
        out.append("<p>Highlighted rows are the steps involved in the violation; ^ marks a preemption.</p>")
    return out


def _center(cx: Counterexample, step: int) -> tuple[int, int]:
    e = cx.events[step]
    return 10 + e.thread * _COL + _BOX_W // 2, 40 + e.step * _ROW + _BOX_H // 2


def _graph(cx: Counterexample) -> list[str]:
    g = cx.hb_graph()
    width = 20 + max(1, len(cx.threads)) * _COL
    height = 60 + max(1, len(cx.events)) * _ROW
    out = ["<h2>Happens-before graph</h2>",
           "<p>Solid: program order. Dashed blue: reads-from. Dashed green: unlock synchronises with lock. "
           "Dotted red: the racing pair.</p>",
           f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img">',
           "<defs>"]
    for kind, (color, _) in sorted(_EDGE_STYLE.items()):
        out.append(f'<marker id="arrow-{kind}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
                   f'markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="{color}"/></marker>')
    out.append("</defs>")
    for i, name in enumerate(cx.threads):
        out.append(f'<text x="{10 + i * _COL}" y="20" font-weight="bold">T{i} {_e(name)}</text>')
    for a, b in sorted(g.edges):
        kind = g.edges[a, b]["kind"]
        color, dash = _EDGE_STYLE[kind]
        (x1, y1), (x2, y2) = _center(cx, a), _center(cx, b)
        # leave the boxes at their edges so arrowheads stay visible
        y1 += _BOX_H // 2 if y2 > y1 else 0
        y2 -= _BOX_H // 2 if y2 > y1 else 0
        dashing = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{color}"{dashing} '
                   f'marker-end="url(#arrow-{kind})"><title>{kind} {a} -&gt; {b}</title></line>')
    for node in sorted(g.nodes):
        attrs = g.nodes[node]
        e = cx.events[node]
        x, y = 10 + e.thread * _COL, 40 + e.step * _ROW
        stroke = "#d00000" if attrs["marked"] else "#666"
        label = attrs["label"]
        short = label if len(label) <= 34 else label[:33] + "\u2026"
        out.append(f'<g><title>{_e(label)} ({_e(e.source)})</title>'
                   f'<rect x="{x}" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="4" fill="#fff" '
                   f'stroke="{stroke}" stroke-width="{2 if attrs["marked"] else 1}"/>'
                   f'<text x="{x + 6}" y="{y + 18}">{_e(short)}</text></g>')
    out.append("</svg>")
    return out


def to_html(cx: Counterexample, title: str = "framemc counterexample") -> str:
    """The whole page: violation and witness, swimlane, happens-before graph."""
    with cx.names_shown():
        body = _violation(cx) + _swimlane(cx) + _graph(cx)
    return "\n".join(['<!DOCTYPE html>', '<html xmlns="http://www.w3.org/1999/xhtml" lang="en">', "<head>",
                      '<meta charset="utf-8"/>', f"<title>{_e(title)}</title>", f"<style>{_CSS}</style>", "</head>",
                      "<body>", *body, "</body>", "</html>"]) + "\n"
