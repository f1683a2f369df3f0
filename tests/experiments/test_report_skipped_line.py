"""The report's facts as HTML: a Markdown code span (summary.md writes the skipped history-priced
bound's note with one) becomes a <code> element, never literal backticks; text stays escaped."""

from __future__ import annotations

from allocsim.experiments.report import history_line
from allocsim.experiments.report_sections import code_spans

NOTE = ("no prices shipped or cached for this scenario content (`allocsim bound --history` fits them: "
        "under a minute on the DP presets)")


def test_the_skipped_line_renders_its_command_as_code() -> None:
    html = str(code_spans(history_line({"value": None, "note": NOTE})))
    assert "`" not in html
    assert html == ("history-priced bound: skipped, no prices shipped or cached for this scenario content "
                    "(<code>allocsim bound --history</code> fits them: under a minute on the DP presets)")


def test_text_is_escaped_inside_and_outside_code_and_a_lone_backtick_is_kept() -> None:
    assert str(code_spans("a < b `x & y` c")) == "a &lt; b <code>x &amp; y</code> c"
    assert str(code_spans("it's 5 ` units")) == "it&#39;s 5 ` units"


def test_the_page_shows_the_fact_as_code() -> None:
    """The whole page of a synthetic run whose history-priced bound was skipped: one <li> with the
    command as <code>, no backtick anywhere in the facts."""
    from report_fixtures import SEEDS, synthetic_rows

    from allocsim.experiments.comparisons import paired_frame
    from allocsim.experiments.report import RunInfo, report_html
    from allocsim.experiments.summary import summary_frame

    rows = synthetic_rows()
    summary = summary_frame(rows)
    info = RunInfo(scenario="x", description="", seeds=SEEDS, workers=1, warm_up=0, wall_seconds=1.0,
                   created="now", history_bound={"value": None, "note": NOTE})
    page = report_html(summary, info, {}, paired_frame(rows, str(summary["reference"].iloc[0])), rows)
    facts = page.split("<ul>", 1)[1].split("</ul>", 1)[0]
    line = ("<li>history-priced bound: skipped, no prices shipped or cached for this scenario content "
            "(<code>allocsim bound --history</code> fits them: under a minute on the DP presets)</li>")
    assert line in facts
    assert "`" not in facts
