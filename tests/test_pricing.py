"""labkit.pricing: the seed's worked examples (lesson section 8) come out of it as the seed writes
them, hand-computed cases for the other services and Cloud Run's free tier, and every price in
labkit/data/prices.yaml says where it comes from and when it was checked."""
from __future__ import annotations

import re

import pytest

from labkit import pricing


def test_the_seeds_fargate_example():
    day = pricing.cost("fargate", 0.5, 1, 24)
    assert day.worked() == "= (0.5 × $0.04048 × 24) + (1 × $0.004445 × 24)\n= $0.49 + $0.11 = $0.60"
    assert day.rounded == 0.60
    assert day.total == pytest.approx(0.59244)  # the lines unrounded: the seed adds rounded cents


def test_the_seeds_autopilot_example_and_the_cluster_fee_the_free_tier_cancels():
    day = pricing.cost("gke_autopilot", 0.5, 1, 24)
    assert day.worked().startswith("= (0.5 × $0.0445 × 24) + (1 × $0.0049 × 24) + ")
    assert [round(line.amount, 2) for line in day.lines] == [0.53, 0.12, 2.40, -2.40]
    assert day.rounded == 0.65 and day.total == pytest.approx(0.6516)
    second_cluster = pricing.cost("gke_autopilot", 0.5, 1, 24, free_tier=False)
    assert second_cluster.total == pytest.approx(0.6516 + 2.40)


def test_the_seeds_eks_cluster_fee_is_72_a_month():
    month = pricing.cost("eks_fargate", 0.5, 1, 24, period="month")
    assert month.lines[0].kind == "cluster" and month.lines[0].amount == pytest.approx(72.0)
    assert month.total == pytest.approx(72 + 0.59244 * 30)
    assert pricing.days_in("month") == 30


def test_hand_computed_cases():
    # Fargate, 1 vCPU, 2 GB, 8 hours a day, a month: 30 × 8 × (0.04048 + 2 × 0.004445)
    assert pricing.cost("fargate", 1, 2, 8, period="month").total == pytest.approx(240 * 0.04937)
    # Spot: 70% off
    assert pricing.cost("fargate", 1, 2, 8, spot=True).total == pytest.approx(0.3 * 8 * 0.04937)
    # EKS on EC2: 3 vCPU need two t3.medium (2 vCPU, 4 GiB): 0.10 × 24 + 2 × 0.052 × 24
    assert pricing.nodes_needed("eks", 3, 2) == 2 and pricing.nodes_needed("eks", 0.5, 9) == 3
    assert pricing.cost("eks_ec2", 3, 2, 24).total == pytest.approx(2.4 + 2 * 0.052 * 24)
    # GKE Standard: the credit covers the fee, one e2-standard-2 node all month
    assert pricing.cost("gke_standard", 1, 4, 24, period="month").total == pytest.approx(0.0862 * 720)
    assert pricing.cost("gke_standard", 1, 4, 24, period="month", free_tier=False).total == \
        pytest.approx(72 + 0.0862 * 720)


def test_cloud_run_free_tier_and_what_comes_after_it():
    # Inside every allowance: nothing to pay
    assert pricing.cost("cloud_run", 1, 1, 1, 1_000_000, period="month").total == 0
    # 1 vCPU, 1 GiB, busy 2 h a day: 216,000 vCPU-s (36,000 over the free 180,000) and
    # 216,000 GiB-s (under 360,000); 3 million requests (1 million over)
    month = pricing.cost("cloud_run", 1, 1, 2, 3_000_000, period="month")
    assert [line.kind for line in month.lines] == ["vcpu", "memory", "requests"]
    assert [line.amount for line in month.lines] == pytest.approx([36000 * 0.000024, 0, 0.40])
    assert month.total == pytest.approx(1.264)
    assert "max(0, 216,000 - 180,000) × $0.000024" in month.worked()
    # A day is a thirtieth of the month (the free tier is monthly)
    assert pricing.cost("cloud_run", 1, 1, 2, 3_000_000, period="day").total == pytest.approx(1.264 / 30)


def test_where_cloud_run_stops_being_cheaper_than_an_always_on_fargate_task():
    # 0.5 vCPU, 1 GiB: Cloud Run's month is 1.566 h - 5.22 past the free tier, Fargate's 17.7732
    h = pricing.crossing(0.5, 1)
    assert h == pytest.approx((17.7732 + 5.22) / 1.566, abs=1e-6)
    curves = pricing.monthly_against_load(0.5, 1, busy_hours=[0, 12, 24])
    assert curves["fargate"] == pytest.approx([17.7732] * 3)
    assert curves["cloud_run"][0] == 0 and curves["cloud_run"][1] < 17.7732 < curves["cloud_run"][2]
    assert pricing.crossing(0.25, 0.5, other="eks_fargate") is None  # the cluster fee: never worth it


def test_every_service_and_bad_input():
    costs = pricing.compare(1, 2, 24, 1_000_000)
    assert list(costs) == list(pricing.SERVICES) and all(c.total > 0 for c in costs.values())
    with pytest.raises(ValueError, match="hours per day"):
        pricing.cost("fargate", 1, 2, 25)
    with pytest.raises(ValueError, match="unknown service"):
        pricing.cost("lambda", 1, 2)
    with pytest.raises(ValueError, match="period"):
        pricing.cost("fargate", 1, 2, period="week")


def test_every_price_has_its_source_date_and_status():
    data = pricing.prices()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", data["checked"])
    entries = [(group, name, entry) for group, values in data.items() if isinstance(values, dict)
               for name, entry in values.items() if isinstance(entry, dict)]
    assert len(entries) >= 18
    for group, name, entry in entries:
        assert isinstance(entry["value"], (int, float)), (group, name)
        assert entry["source"].startswith("https://") and entry["unit"], (group, name)
        assert entry["status"] in ("seed", "confirmed", "assumed"), (group, name)
        assert re.fullmatch(r"\d{4}-\d\d-\d\d", entry["checked"]), (group, name)


def test_the_seeds_figures_are_in_the_data_file_as_the_seed_gives_them():
    seed = {("fargate", "vcpu_hour"): 0.04048, ("fargate", "gb_hour"): 0.004445, ("eks", "cluster_hour"): 0.10,
            ("gke", "autopilot_vcpu_hour"): 0.0445, ("gke", "autopilot_gb_hour"): 0.0049,
            ("gke", "cluster_hour"): 0.10, ("cloud_run", "vcpu_second"): 0.000024,
            ("cloud_run", "gb_second"): 0.0000025, ("cloud_run", "million_requests"): 0.40,
            ("cloud_run", "free_requests"): 2_000_000, ("cloud_run", "free_gb_seconds"): 360_000,
            ("cloud_run", "free_vcpu_seconds"): 180_000}
    for (group, name), value in seed.items():
        assert pricing.price(group, name) == value
        assert pricing.prices()[group][name]["status"] == "seed"
