"""`sealbid demo` end to end on the embedded default: it must do what it says."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.demo import DemoFailed, run_demo


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    result = run_demo(tmp_path / "demo", lines.append)
    # Every signing participant of the dev PKI logged in with the roles it was registered with.
    assert result.logins["tenderer-1-sign"] == ("tenderer",)
    assert result.logins["admin-sign"] == ("admin",)
    assert result.logins["custodian-3-sign"] == ("custodian",)
    assert len(result.logins) == 19
    assert "certificate-wrong-key-usage" in result.refusals["encryption certificate"]
    assert "refusing to sign" in result.refusals["wrong audience"]
    # The log grew between the two monitor runs, and the rewrite was caught.
    first, second, *later = result.log_sizes
    assert second > first > 0
    assert all(size >= second for size in later)
    assert "rewrote history: entry 1" in result.tamper_detected
    # Tenders: three drafted, reviewed and published, and the served portal's list shows them.
    assert len(result.tenders) == 3
    assert any("the portal's /announcements shows them" in line for line in lines)
    # Sealed bids: 5 submissions, a replacement and a withdrawal, every receipt verified offline.
    assert result.bids["receipts"] == 7
    # The opening: 4 standing envelopes; the bidder that never decrypted its own layer is revoked
    # (Measures Art. 31), the withdrawn bid is recorded as withdrawn, the others opened.
    assert sorted(result.bids["outcomes"].values()) == ["opened", "opened", "opened", "revoked", "withdrawn"]
    record = result.bids["record"]
    opened = [entry for entry in record["bids"] if entry["outcome"] == "opened"]
    assert all(entry["lots"][0]["price"]["amount"] for entry in opened)
    assert "11650000.00" in {entry["lots"][0]["price"]["amount"] for entry in opened}  # the replacement
    assert "OK" in result.bids["verify"]
    # Experts: the committee of five is confirmed through the simulated calls, with declines replaced
    # in the verifiable order; at the session start the list is released after the recheck against the
    # bidders. Without a result the secret stays sealed (verify-draw: not yet revealed); the draw of the
    # cancelled tender is revealed by the maintenance sweep and recomputed from the public log: it matches.
    assert result.experts["pool"] == 300
    totals = result.experts["totals"]
    assert totals["confirmed"] == 5
    assert totals["pending"] == 0
    assert totals["declined"] >= 1
    assert result.experts["session"]["bidders"] == 5
    assert len(result.experts["session"]["members"]) == 5 - result.experts["session"]["avoided"]
    assert result.experts["reveal_refused"] == "expert-reveal-before-result"
    assert result.experts["verify_sealed"].startswith("NOT YET REVEALED")
    assert result.experts["verify"].startswith("MATCHES")
    assert lines[-1].startswith("Done:")


def test_demo_refuses_to_wipe_a_directory_it_did_not_make(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data.txt").write_text("keep me")
    with pytest.raises(DemoFailed, match="not a sealbid demo directory"):
        run_demo(precious, lambda _line: None)
    assert (precious / "data.txt").read_text() == "keep me"
