"""`emu report OUT.html PROG` / `emu run --report OUT.html`: one self-contained HTML page about a run's process
creation, plus OUT.png with the page maps.

The page holds the process tree (clone kinds and flags), a per-task timeline, for each fork a page map of every
VMA of the child (per page and per side: not present, shared read-only, shared mapping, or copy-on-write and
then stayed shared, copied or reused, with when and by whom in each cell's tooltip) and the --stats totals.

The drawings are inline SVG written here, not matplotlib: the page needs no network and no script library,
each page of a map is its own element with its own tooltip, and it scales without blurring. The PNG is drawn
with Pillow (its built-in bitmap font, so no font files are needed).
"""

from __future__ import annotations

import html
import json

import numpy as np

from .stats import format_stats
from .timeline import (
    ABSENT, BASE_NAMES, COW, OUTCOME_NAMES, UNTOUCHED, ForkRec, Recorder,
)

CELL = 9  # pixels per page in a map
STEP = CELL + 1
PER_LINE = 96  # pages per line of a map
GAP_MIN = 16  # a run of at least this many absent pages is drawn as one gap
PNG_FORKS = 16  # the PNG shows the page maps of the first forks only (the HTML page has all)

COLORS = {"absent": "#e8e8e8", "read_only": "#aebfd6", "shared_mapping": "#c39bd9", "shared": "#58b368",
          "copied": "#e0503a", "reused": "#3a78e0", "gap": "#ffffff"}
LEGEND = (("shared", "copy-on-write, stayed shared"), ("copied", "copied (do_wp_page: wp_page_copy)"),
          ("reused", "reused (do_wp_page: wp_page_reuse)"), ("read_only", "shared read-only (never writable)"),
          ("shared_mapping", "shared mapping (MAP_SHARED)"), ("absent", "not present at the fork"))
FAULT_COLORS = {"zero_fill": "#8c8c8c", "file_fill": "#b08a3e", "cow_copy": COLORS["copied"],
                "cow_reuse": COLORS["reused"]}


def _cell_class(base: int, outcome: int) -> str:
    if base == COW:
        return ("shared", "copied", "reused")[outcome]
    return ("absent", "read_only", "shared_mapping")[base]


def display_items(base: np.ndarray) -> list[tuple[int, int]]:
    """A VMA's pages as (first page, count) items: count 1 for a page, more for a gap of absent pages."""
    items = []
    n = base.size
    i = 0
    while i < n:
        if base[i] == ABSENT:
            j = i
            while j < n and base[j] == ABSENT:
                j += 1
            if j - i >= GAP_MIN:
                items.append((i, j - i))
                i = j
                continue
            items.extend((p, 1) for p in range(i, j))
            i = j
        else:
            items.append((i, 1))
            i += 1
    return items


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _rect(x, y, w, h, cls: str, info: str) -> str:
    """An SVG rectangle with its details as a tooltip and for the status bar."""
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" class="{cls}" data-info="{_esc(info)}">'
            f'<title>{_esc(info)}</title></rect>')


class Report:
    """Builds the page from a finished Recorder and the run's statistics."""

    def __init__(self, rec: Recorder, stats: dict, argv: list[str]) -> None:
        self.rec = rec
        self.stats = stats
        self.argv = argv

    def cyc(self, t: int) -> str:
        return f"cycle {t:,} ({self.rec.us(t):,.3f} us)"

    # ---- the process tree ----------------------------------------------------------------------------------

    def tree(self) -> str:
        tasks = self.rec.tasks
        kids: dict[int | None, list] = {}
        for t in sorted(tasks.values(), key=lambda t: t.pid):
            parent = t.parent if t.parent in tasks else None
            kids.setdefault(parent, []).append(t)

        def item(t) -> str:
            names = " &rarr; ".join(_esc(n) for n in dict.fromkeys(t.names))
            if t.status is None:
                end = "still running at the end"
            elif t.status & 0x7F:
                end = f"killed by signal {t.status & 0x7F}"
            else:
                end = f"exit {(t.status >> 8) & 0xFF}"
            how = f'<span class="kind">{_esc(t.kind)}</span>'
            if t.flags_str:
                how += f' <code>{_esc(t.flags_str)}</code>'
            sub = "".join(item(c) for c in kids.get(t.pid, ()))
            return (f"<li><b>{t.pid}</b> {names} &mdash; {how} &mdash; {t.syscalls} syscalls, {end}"
                    + (f"<ul>{sub}</ul>" if sub else "") + "</li>")

        return "<ul class=\"tree\">" + "".join(item(t) for t in kids.get(None, ())) + "</ul>"

    # ---- the timeline --------------------------------------------------------------------------------------

    def timeline(self) -> str:
        rec = self.rec
        tasks = sorted(rec.tasks.values(), key=lambda t: t.pid)
        end = max(rec.end, 1)
        left, width, row = 150, 900, 26
        height = row * len(tasks) + 40
        y_of = {t.pid: 20 + i * row for i, t in enumerate(tasks)}

        def x(t: int) -> float:
            return round(left + width * t / end, 2)

        out = [f'<svg class="timeline" width="{left + width + 60}" height="{height}" '
               f'xmlns="http://www.w3.org/2000/svg">']
        for t in tasks:
            y = y_of[t.pid]
            out.append(f'<text x="4" y="{y + 12}" class="lbl">{t.pid} {_esc(t.names[-1][:14])}</text>')
            out.append(f'<line x1="{left}" x2="{left + width}" y1="{y + 8}" y2="{y + 8}" class="lane"/>')
        for pid, a, b in rec.runs:
            y = y_of[pid]
            out.append(_rect(x(a), y + 2, max(x(b) - x(a), 0.5), 12, "run",
                             f"pid {pid} on the CPU from {self.cyc(a)} to {self.cyc(b)}"))
        for s in rec.slices:
            y = y_of[s["pid"]]
            if s["cat"] == "vfork":
                out.append(_rect(x(s["ts"]), y + 6, max(x(s["ts"] + s["dur"]) - x(s["ts"]), 1), 4, "vfork",
                                 f"pid {s['pid']} asleep in vfork until child {s['args']['child']} execs or exits"))
            elif len(rec.slices) <= 20000:
                call = f"{s['name']}({s['args']['args']}) = {s['args']['result']}"
                out.append(_rect(x(s["ts"]), y, 1, 16, "sc", f"pid {s['pid']}: {call} at {self.cyc(s['ts'])}"))
        if len(rec.instants) <= 20000:
            for i in rec.instants:
                if i["cat"] != "fault":
                    continue
                y = y_of[i["pid"]]
                kind = i["args"]["kind"]
                out.append(f'<rect x="{x(i["ts"])}" y="{y + 16}" width="1" height="5" '
                           f'fill="{FAULT_COLORS.get(kind, "#444")}"/>')
        for fk in rec.forks:
            if fk.parent not in y_of or fk.child not in y_of:
                continue
            start = next((a for p, a, _ in rec.runs if p == fk.child), fk.ts)
            info = f"{fk.kind} ({fk.flags_str}) of {fk.child} by {fk.parent} at {self.cyc(fk.ts)}"
            out.append(f'<line x1="{x(fk.ts)}" y1="{y_of[fk.parent] + 8}" x2="{x(start)}" y2="{y_of[fk.child] + 8}" '
                       f'class="arrow" marker-end="url(#head)" data-info="{_esc(info)}"><title>{_esc(info)}</title>'
                       '</line>')
        out.append('<defs><marker id="head" markerWidth="6" markerHeight="6" refX="5" refY="3" orient="auto">'
                   '<path d="M0,0 L6,3 L0,6 z" fill="#222"/></marker></defs>')
        for k in range(0, 6):
            t = end * k // 5
            out.append(f'<text x="{x(t)}" y="{height - 4}" class="tick">{rec.us(t):,.0f} us</text>')
        out.append("</svg>")
        return "".join(out)

    # ---- the page maps ---------------------------------------------------------------------------------------

    def page_map(self, fk: ForkRec) -> str:
        parts = []
        for vm in fk.vmas:
            items = display_items(vm.base)
            lines = (len(items) + PER_LINE - 1) // PER_LINE or 1
            h = lines * (2 * STEP + 6)
            svg = [f'<svg class="map" width="{42 + PER_LINE * STEP}" height="{h}" xmlns="http://www.w3.org/2000/svg">']
            for n, (p, count) in enumerate(items):
                line, col = divmod(n, PER_LINE)
                x0 = 42 + col * STEP
                y0 = line * (2 * STEP + 6)
                if col == 0:
                    svg.append(f'<text x="0" y="{y0 + 8}" class="side">parent</text>'
                               f'<text x="0" y="{y0 + STEP + 8}" class="side">child</text>')
                addr = vm.start + (p << 12)
                if count > 1:
                    svg.append(_rect(x0, y0, CELL, 2 * STEP - 1, "gap", f"{addr:#010x}-{addr + (count << 12):#010x}: "
                                     f"{count} pages not present at the fork"))
                    continue
                b = int(vm.base[p])
                for side, dy in (("parent", 0), ("child", STEP)):
                    o = int(vm.outcome[side][p])
                    cls = _cell_class(b, o)
                    info = f"{addr:#010x} {side}: {BASE_NAMES[b]}"
                    if b == COW:
                        info += f", {OUTCOME_NAMES[o]}"
                        if o != UNTOUCHED:
                            t = int(vm.when[side][p])
                            info += (f" by pid {int(vm.who[side][p])} at {self.cyc(t)}, "
                                     f"{t - fk.ts:,} cycles after the fork")
                        elif side in fk.ends:
                            info += f" until this side left the mm at {self.cyc(fk.ends[side])}"
                    svg.append(_rect(x0, y0 + dy, CELL, CELL, cls, info))
            svg.append("</svg>")
            c = vm.counts()
            summary = ", ".join(f"{k} {v}" for k, v in c.items() if v)
            prot = "".join(ch if vm.prot & bit else "-" for ch, bit in (("r", 1), ("w", 2), ("x", 4)))
            prot += "s" if vm.shared else "p"
            parts.append(f'<div class="vma"><div class="vmahead"><code>{vm.start:#010x}-{vm.end:#010x} {prot} '
                         f'{_esc(vm.name)}</code> {(vm.end - vm.start) >> 12} pages: {_esc(summary)}</div>'
                         + "".join(svg) + "</div>")
        tot = fk.totals()
        head = (f'<h3 id="fork{fk.id}">{_esc(fk.kind)} of pid {fk.child} by pid {fk.parent} at {self.cyc(fk.ts)} '
                f'<code>{_esc(fk.flags_str)}</code></h3>')
        table = "<table class=\"totals\"><tr>" + "".join(f"<th>{_esc(k)}</th>" for k in tot) + "</tr><tr>" + \
            "".join(f"<td>{v}</td>" for v in tot.values()) + "</tr></table>"
        ends = "; ".join(f"the {side} left the address space (exec or exit) at {self.cyc(t)}"
                         for side, t in sorted(fk.ends.items()))
        return head + table + (f"<p>{_esc(ends)}</p>" if ends else "") + "".join(parts)

    # ---- the page ----------------------------------------------------------------------------------------------

    def html(self) -> str:
        rec = self.rec
        forks = [fk for fk in rec.forks if fk.vmas]
        shared = [fk for fk in rec.forks if not fk.vmas]
        legend = "".join(f'<span class="key"><svg width="10" height="10"><rect width="10" height="10" '
                         f'class="{cls}"/></svg> {_esc(text)}</span>' for cls, text in LEGEND)
        maps = "".join(self.page_map(fk) for fk in forks) or "<p>No fork copied an address space in this run.</p>"
        if shared:
            maps += "<p>Created sharing the address space (CLONE_VM, so no page map): " + ", ".join(
                f"pid {fk.child} ({_esc(fk.kind)}, <code>{_esc(fk.flags_str)}</code>) by {fk.parent}"
                for fk in shared) + ".</p>"
        css = "\n".join(f".{k} {{ fill: {v}; }}" for k, v in COLORS.items())
        # raw text inside <script>: only "</" could end it early
        data = json.dumps({"instructions": self.stats["instructions"], "cycles": self.stats["cycles"]}).replace(
            "</", "<\\/")
        return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>emu report: {_esc(" ".join(self.argv))}</title>
<style>
body {{ font: 14px/1.4 sans-serif; margin: 1.5em; color: #222; }}
h1 {{ font-size: 1.4em; }} h2 {{ font-size: 1.2em; margin-top: 1.6em; }} h3 {{ font-size: 1em; }}
code, pre {{ font: 12px monospace; }}
pre {{ background: #f6f6f6; padding: .6em; overflow-x: auto; }}
.tree, .tree ul {{ list-style: none; padding-left: 1.3em; }} .tree li {{ margin: .2em 0; }}
.kind {{ background: #eef; padding: 0 .3em; border-radius: 3px; }}
.lbl, .tick {{ font: 11px sans-serif; fill: #333; }} .side {{ font: 9px sans-serif; fill: #555; }}
.lane {{ stroke: #ddd; }} .run {{ fill: #7fb3d5; }} .sc {{ fill: #333; }} .vfork {{ fill: #f0a030; }}
.arrow {{ stroke: #222; stroke-width: 1.2; }}
.gap {{ fill: #fff; stroke: #999; stroke-dasharray: 2 1; }}
{css}
.vma {{ margin: .5em 0 .9em; }} .vmahead {{ font-size: 12px; margin-bottom: 2px; }}
.key {{ margin-right: 1.2em; white-space: nowrap; }}
table.totals {{ border-collapse: collapse; font-size: 12px; }}
table.totals td, table.totals th {{ border: 1px solid #ccc; padding: 2px 6px; }}
#status {{ position: fixed; bottom: 0; left: 0; right: 0; background: #222; color: #fff; font: 12px monospace;
  padding: 4px 8px; min-height: 1.2em; }}
</style></head><body>
<h1>emu report: <code>{_esc(" ".join(self.argv))}</code></h1>
<p>Times are on the model's cycle clock (one CPU, {rec.freq} GHz in the cost model), so the same run gives the
same page. Hover over anything for details.</p>
<h2>Process tree</h2>
{self.tree()}
<h2>Timeline</h2>
<p>Blue: on the CPU; black ticks: syscalls; orange: asleep in vfork; coloured ticks under a lane: page faults
(grey zero-fill, brown file, red COW copy, blue COW reuse); arrows: fork, vfork and clone.</p>
{self.timeline()}
<h2>Page maps, one per fork</h2>
<p>Each VMA of the child right after the fork, one cell per page, the parent's fate of the page above the
child's. {legend}</p>
{maps}
<h2>Totals</h2>
<pre>{_esc(format_stats(self.stats))}</pre>
<div id="status"></div>
<script id="run-data" type="application/json">{data}</script>
<script>
(function () {{
  var status = document.getElementById("status");
  var data = JSON.parse(document.getElementById("run-data").textContent);
  status.textContent = data.instructions.toLocaleString() + " instructions, " +
    data.cycles.toLocaleString() + " modelled cycles";
  var idle = status.textContent;
  document.addEventListener("mouseover", function (e) {{
    var info = e.target.getAttribute && e.target.getAttribute("data-info");
    status.textContent = info || idle;
  }});
}})();
</script>
</body></html>
"""


def write_png(rec: Recorder, path: str) -> None:
    """The page maps of every fork as one PNG (Pillow, built-in font)."""
    from PIL import Image, ImageDraw, ImageFont

    forks = [fk for fk in rec.forks if fk.vmas]
    shown = forks[:PNG_FORKS]
    font = ImageFont.load_default()
    rgb = {k: tuple(int(v[i:i + 2], 16) for i in (1, 3, 5)) for k, v in COLORS.items()}
    blocks = []  # (kind, payload, height)
    blocks.append(("text", "emu report: page maps (parent above child; " + ", ".join(
        f"{t.split(',')[0].split(' (')[0]}" for _, t in LEGEND) + ")", 16))
    blocks.append(("legend", None, 18))
    if not forks:
        blocks.append(("text", "no fork copied an address space in this run", 16))
    for fk in shown:
        tot = fk.totals()
        blocks.append(("text", f"{fk.kind} of pid {fk.child} by pid {fk.parent} at cycle {fk.ts}: " + ", ".join(
            f"{k} {v}" for k, v in tot.items() if v), 18))
        for vm in fk.vmas:
            items = display_items(vm.base)
            lines = (len(items) + PER_LINE - 1) // PER_LINE or 1
            blocks.append(("text", f"  {vm.start:#010x}-{vm.end:#010x} {vm.name}", 14))
            blocks.append(("map", (vm, items), lines * (2 * STEP + 6)))
    if len(forks) > len(shown):
        blocks.append(("text", f"... and {len(forks) - len(shown)} more forks: their page maps are in the HTML "
                               "page", 16))
    width = 60 + PER_LINE * STEP + 10
    height = sum(h for _, _, h in blocks) + 10
    img = Image.new("RGB", (width, height), "white")
    d = ImageDraw.Draw(img)
    y = 5
    for kind, payload, h in blocks:
        if kind == "text":
            d.text((5, y + 2), payload, fill=(20, 20, 20), font=font)
        elif kind == "legend":
            x = 5
            for cls, text in LEGEND:
                d.rectangle((x, y + 3, x + 9, y + 12), fill=rgb[cls], outline=(120, 120, 120))
                label = text.split(" (")[0]
                d.text((x + 13, y + 2), label, fill=(20, 20, 20), font=font)
                x += 20 + int(d.textlength(label, font=font))
        else:
            vm, items = payload
            for n, (p, count) in enumerate(items):
                line, col = divmod(n, PER_LINE)
                x0, y0 = 60 + col * STEP, y + line * (2 * STEP + 6)
                if col == 0:
                    d.text((5, y0 - 1), "parent", fill=(60, 60, 60), font=font)
                    d.text((5, y0 + STEP - 1), "child", fill=(60, 60, 60), font=font)
                if count > 1:
                    d.rectangle((x0, y0, x0 + CELL - 1, y0 + 2 * STEP - 2), fill="white", outline=(150, 150, 150))
                    continue
                b = int(vm.base[p])
                for side, dy in (("parent", 0), ("child", STEP)):
                    cls = _cell_class(b, int(vm.outcome[side][p]))
                    d.rectangle((x0, y0 + dy, x0 + CELL - 1, y0 + dy + CELL - 1), fill=rgb[cls])
        y += h
    img.save(path, "PNG", optimize=True)


def write_report(rec: Recorder, stats: dict, out, png_path: str | None, argv: list[str]) -> None:
    """Write the HTML page to out and the page-map PNG to png_path."""
    out.write(Report(rec, stats, argv).html())
    if png_path:
        write_png(rec, png_path)


__all__ = ["write_report", "write_png", "Report", "display_items"]
