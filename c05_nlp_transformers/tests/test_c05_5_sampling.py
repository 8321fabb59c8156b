"""c05.5: greedy, temperature, top-k and top-p sampling, checked statistically and exactly.

Each sampler draws 200,000 tokens with a seeded generator, so the tests are deterministic (never
flaky), and the counts are compared with the distribution computed here in float64: a chi-square
test (p-value from the regularised incomplete gamma function) and a 5-sigma bound per token. A
filtered sampler must never draw a token outside its allowed set (an exact check).
"""

from __future__ import annotations

import math

import pytest
import torch

from c05_nlp_transformers import SamplingConfig, probabilities, sample, top_k_filter, top_p_filter

pytestmark = pytest.mark.task("c05.5")

DRAWS = 200_000
SIGMAS = 5.0
LOGITS = torch.tensor([2.0, 1.5, 1.4, 0.3, 0.0, -0.5, -1.0, -2.5, 0.9, 1.1])  # 10 tokens, no ties
SETTINGS = [  # keyword arguments of SamplingConfig (built inside the tests, not at import)
    {},
    {"temperature": 0.6},
    {"temperature": 1.7},
    {"top_k": 3},
    {"top_p": 0.8},
    {"temperature": 0.8, "top_k": 6, "top_p": 0.9},
    {"top_p": 1.0},
]


def expected_distribution(logits: torch.Tensor, config: SamplingConfig) -> list[float]:
    """The sampler's distribution, from the definitions, one token at a time in float64."""
    scaled = [float(z) / config.temperature for z in logits]
    allowed = set(range(len(scaled)))
    if config.top_k is not None:
        kth = sorted(scaled, reverse=True)[config.top_k - 1]
        allowed = {i for i in allowed if scaled[i] >= kth}
    if config.top_p is not None:
        weights = {i: math.exp(scaled[i]) for i in allowed}
        total = sum(weights.values())
        kept, mass = set(), 0.0
        for i in sorted(allowed, key=lambda i: -scaled[i]):
            if mass >= config.top_p:
                break
            kept.add(i)
            mass += weights[i] / total
        allowed = kept
    weights = {i: math.exp(scaled[i]) for i in allowed}
    total = sum(weights.values())
    return [weights.get(i, 0.0) / total for i in range(len(scaled))]


def chi_square_p_value(counts: list[int], probs: list[float]) -> float:
    observed = [(c, p) for c, p in zip(counts, probs, strict=True) if p > 0]
    statistic = sum((c - DRAWS * p) ** 2 / (DRAWS * p) for c, p in observed)
    dof = len(observed) - 1
    if dof == 0:
        return 1.0
    return float(torch.special.gammaincc(torch.tensor(dof / 2, dtype=torch.float64),
                                         torch.tensor(statistic / 2, dtype=torch.float64)))


@pytest.fixture(scope="module")
def draws() -> dict[SamplingConfig, list[int]]:
    """Counts per token for every config: one batched call of 200,000 rows each."""
    out = {}
    for n, settings in enumerate(SETTINGS):
        config = SamplingConfig(**settings)
        generator = torch.Generator().manual_seed(1000 + n)
        tokens = sample(LOGITS.expand(DRAWS, -1), None if not settings else config, generator)
        assert tokens.shape == (DRAWS,) and tokens.dtype == torch.long
        out[config] = torch.bincount(tokens, minlength=len(LOGITS)).tolist()
    return out


def test_samples_follow_the_expected_distributions(metric, draws):
    worst_p = 1.0
    for config, counts in draws.items():
        probs = expected_distribution(LOGITS, config)
        for count, p in zip(counts, probs, strict=True):
            sigma = math.sqrt(DRAWS * p * (1 - p))
            assert abs(count - DRAWS * p) <= SIGMAS * sigma, (config, counts, probs)
        worst_p = min(worst_p, chi_square_p_value(counts, probs))
    metric("sampler_min_chi2_p_value", worst_p)


def test_filtered_samplers_never_leave_the_allowed_set(draws):
    for config, counts in draws.items():
        probs = expected_distribution(LOGITS, config)
        outside = [i for i, p in enumerate(probs) if p == 0.0]
        assert all(counts[i] == 0 for i in outside), config
    assert sum(p > 0 for p in expected_distribution(LOGITS, SamplingConfig(top_k=3))) == 3
    assert sum(p > 0 for p in expected_distribution(LOGITS, SamplingConfig(top_p=0.8))) < len(LOGITS)


def test_probabilities_equal_the_definition():
    for settings in SETTINGS:
        config = SamplingConfig(**settings)
        got = probabilities(LOGITS.double()[None], config)[0]
        torch.testing.assert_close(got, torch.tensor(expected_distribution(LOGITS, config), dtype=torch.float64))


def test_filters_at_the_edges():
    tied = torch.tensor([[1.0, 3.0, 3.0, 2.0, 3.0]])
    assert torch.isinf(top_k_filter(tied, 2)).tolist() == [[True, False, False, True, False]]  # ties are kept
    assert torch.equal(top_k_filter(tied, 5), tied) and torch.equal(top_k_filter(tied, 50), tied)
    dominant = torch.tensor([[10.0, 0.0, 0.0]])
    assert torch.isinf(top_p_filter(dominant, 0.5)).tolist() == [[False, True, True]]  # the top token always stays
    assert torch.equal(top_p_filter(dominant, 1.0), dominant)
    batch = torch.stack([LOGITS, LOGITS.flip(0)])  # each row filtered on its own
    assert torch.equal(torch.isinf(top_k_filter(batch, 3))[1], torch.isinf(top_k_filter(batch, 3))[0].flip(0))


def test_greedy_and_seeds():
    logits = torch.tensor([[0.1, 3.0, 3.0, -1.0], [5.0, 0.0, 0.0, 0.0]])
    greedy = SamplingConfig(temperature=0.0)
    assert greedy.greedy and sample(logits, greedy).tolist() == [1, 0]  # the first maximum
    assert probabilities(logits, greedy).tolist() == [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    config = SamplingConfig(temperature=1.3, top_p=0.95)
    wide = LOGITS.expand(64, -1)
    first = sample(wide, config, torch.Generator().manual_seed(7))
    assert torch.equal(first, sample(wide, config, torch.Generator().manual_seed(7)))
    assert not torch.equal(first, sample(wide, config, torch.Generator().manual_seed(8)))
    with pytest.raises(ValueError, match="logits must be"):
        sample(LOGITS, config)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"temperature": -0.5}, "temperature must be a finite number >= 0"),
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": float("inf")}, "temperature"),
        ({"top_p": 0.0}, r"top_p must be in \(0, 1\]"),
        ({"top_p": 1.01}, r"top_p must be in \(0, 1\]"),
        ({"top_p": -0.2}, r"top_p must be in \(0, 1\]"),
        ({"top_k": 0}, "top_k must be an int >= 1"),
        ({"top_k": True}, "top_k must be an int >= 1"),
        ({"top_k": 2.5}, "top_k must be an int >= 1"),
    ],
)
def test_bad_sampling_settings_are_clear_errors(arguments, message):
    assert SamplingConfig(temperature=0.0, top_k=1, top_p=1.0).greedy
    with pytest.raises(ValueError, match=message):
        SamplingConfig(**arguments)
