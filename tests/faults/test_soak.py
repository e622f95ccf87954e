"""An installation runs for weeks: a compressed soak must show flat memory and no errors."""

from __future__ import annotations

import json

from livegen import cli


def test_a_short_soak_of_the_default_patch_reports_memory_and_frame_time_at_start_and_end(capsys):
    assert cli.main(["bench", "soak", "--frames", "600", "--window", "200", "--size", "16x16", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["frames"] == 600 and result["size"] == "16x16"
    assert result["start"]["frame"] == 200 and result["end"]["frame"] == 600
    assert result["errors_reported"] == 0, "the smallest output size still runs every stage"
    assert result["end"]["rss_mib"] > 0 and result["end"]["ms_per_frame"] > 0
    assert abs(result["rss_growth_mib"]) < 50
