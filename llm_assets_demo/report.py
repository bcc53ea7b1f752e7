"""promo_reco: a self-contained HTML report (inline SVG charts, no plotting library)."""

from __future__ import annotations

from html import escape


def bar_chart(title: str, rows: list[tuple[str, float]], unit: str = "",
              width: int = 640) -> str:
    """A horizontal bar chart as inline SVG: one labelled bar per (label, value)."""
    bar_h, gap, left, top = 22, 8, 190, 34
    height = top + len(rows) * (bar_h + gap) + 10
    peak = max((v for _, v in rows), default=0) or 1
    span = width - left - 80
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="{escape(title)}" font-family="sans-serif" '
             f'font-size="13">',
             f'<text x="0" y="18" font-size="15" font-weight="bold">{escape(title)}</text>']
    for i, (label, value) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, span * value / peak)
        shown = f"{value:.0%}" if unit == "%" else f"{value:g}{unit}"
        parts += [f'<text x="{left - 8}" y="{y + 16}" text-anchor="end">{escape(label)}</text>',
                  f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#3b6ea8">'
                  f'<title>{escape(label)}: {shown}</title></rect>',
                  f'<text x="{left + w + 6:.1f}" y="{y + 16}">{shown}</text>']
    parts.append("</svg>")
    return "\n".join(parts)


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = ("body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0;font-size:13px}"
         "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
         "th{background:#eef2f7}.kpi{display:inline-block;margin:0 2em 1em 0}"
         ".kpi b{display:block;font-size:22px}")


def html_report(recs, metrics: dict, by_category: list[tuple[str, float]],
                by_segment: list[tuple[str, float]], title: str) -> str:
    """The report: headline figures, two charts, the LLM-ranked customers' picks."""
    kpis = [("customers", metrics["customers"]), ("promotions", metrics["promotions"]),
            ("retrieval recall@5", f"{metrics['retrieval_recall_at_5']:.2f}"),
            ("final recall@5", f"{metrics['final_recall_at_5']:.2f}"),
            ("LLM-ranked customers", metrics["llm_attempts"]),
            ("valid LLM outputs", f"{metrics['llm_valid_share']:.0%}")]
    kpi_html = "".join(f'<div class="kpi"><b>{escape(str(v))}</b>{escape(k)}</div>'
                       for k, v in kpis)
    ranked = recs[recs.ranked_by != "retrieval"]
    rows = [[r.customer_id, r.rank, r.promo_id, r.title, r.category, f"{r.score:.2f}",
             r.ranked_by, r.reason] for r in ranked.itertuples()]
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>"
        f"<p>Data date {escape(str(metrics.get('data_dt', '')))}, run "
        f"{escape(str(metrics.get('run_id', '')))}. Recall@5: share of the promotions that fit a "
        "customer by construction found in its top 5 (averaged over customers).</p>"
        f"{kpi_html}"
        + bar_chart("Recommendations by category (top 5 of every customer)", by_category)
        + bar_chart("Retrieval recall@5 by customer segment", by_segment, unit="%")
        + "<h2>Customers ranked by the LLM</h2><p><i>ranked_by</i> = llm: the model's "
          "schema-valid answer; fallback: its answer was invalid, so the retrieval order "
          "is shown.</p>"
        + _table(["customer", "rank", "promo", "title", "category", "score", "ranked_by",
                  "reason"], rows)
        + "</body></html>"
    )
