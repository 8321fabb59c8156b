"""c04.7: data-parallel training over torch.distributed (gloo) on two local processes.

Oracle: the same steps on one process, each on the whole global batch. DDP
averages the ranks' gradients of their half-batch means, which is the gradient
of the full-batch mean; only the summation order differs.
"""

from __future__ import annotations

import multiprocessing

import pytest
import torch

from c04_dl_fundamentals import DDPConfig, ddp, train_data_parallel, train_single_process

pytestmark = pytest.mark.task("c04.7")

# Tolerance (the acceptance's): float32 gradients summed in another order differ by ~1e-8 per step;
# 20 SGD steps with momentum 0.9 keep the weights within ~1e-7 of each other, far below 1e-5.
WEIGHT_TOLERANCE = 1e-5
CONFIG = DDPConfig(steps=20, global_batch=64, lr=0.05, momentum=0.9, hidden=32, seed=0)
SPAWN_TIMEOUT_S = 150.0  # two fresh interpreters importing torch on a busy 2-core machine


def assert_no_children_left():
    alive = multiprocessing.active_children()  # also reaps finished ones
    assert alive == [], f"processes left behind: {alive}"


@pytest.fixture(scope="module")
def reference():
    return train_single_process(CONFIG)


def test_ddp_max_weight_diff(reference, metric):
    result = train_data_parallel(CONFIG, world_size=2, timeout_s=SPAWN_TIMEOUT_S)
    assert_no_children_left()
    assert result.world_size == 2 and result.seconds > 0
    assert result.state.keys() == reference.keys()
    initial = {k: v.detach() for k, v in ddp.make_model(CONFIG).state_dict().items()}
    assert ddp.max_weight_difference(initial, reference) > 1e-3  # training really moved the weights
    metric("ddp_max_weight_diff", ddp.max_weight_difference(result.state, reference))


def test_one_rank_in_process_equals_the_reference(reference, tmp_path):
    """World size 1 in this very process: the DDP code path without spawning (and visible to coverage)."""
    threads = torch.get_num_threads()
    path = tmp_path / "rank0.safetensors"
    seconds = ddp.ddp_worker(0, 1, ddp.find_free_port(), CONFIG, ddp.load_data(), str(path))
    assert torch.get_num_threads() == threads  # restored after the rank's single-thread run
    result = ddp.read_result(path)
    assert seconds > 0 and result.world_size == 1 and result.seconds == pytest.approx(seconds)
    assert ddp.max_weight_difference(result.state, reference) <= WEIGHT_TOLERANCE
    assert not torch.distributed.is_initialized()  # the group was destroyed


def test_a_failing_rank_is_reported_and_every_process_reaped():
    with pytest.raises(RuntimeError, match=r"(?s)DDP worker c04-ddp-rank\d failed.*injected failure in rank 1"):
        train_data_parallel(CONFIG, world_size=2, timeout_s=SPAWN_TIMEOUT_S, fail_rank=1)
    assert_no_children_left()


def test_a_hung_run_times_out_and_every_process_is_killed():
    with pytest.raises(TimeoutError, match=r"the 2 DDP workers did not finish within 0 s"):
        train_data_parallel(CONFIG, world_size=2, timeout_s=0.01)  # they cannot even import torch in time
    assert_no_children_left()


def test_same_global_batches_everywhere():
    a, b = ddp.global_batches(CONFIG, 100), ddp.global_batches(CONFIG, 100)
    assert len(a) == CONFIG.steps and all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert all(len(rows) == CONFIG.global_batch and len(set(rows.tolist())) == CONFIG.global_batch for rows in a)
    assert not torch.equal(a[0], a[1])  # a new draw every step
    with pytest.raises(ValueError, match="global_batch 64 is larger than the 50 rows"):
        ddp.global_batches(CONFIG, 50)


def test_free_port_is_bindable():
    import socket

    port = ddp.find_free_port()
    assert 1024 <= port <= 65535
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("config", "world_size", "message"),
    [
        (DDPConfig(steps=0), 2, r"steps must be >= 1"),
        (CONFIG, 0, r"world_size must be an integer >= 1"),
        (CONFIG, 1.5, r"world_size must be an integer"),
        (DDPConfig(global_batch=63), 2, r"global_batch 63 must be a positive multiple of world_size 2"),
        (DDPConfig(global_batch=2), 4, r"multiple of world_size 4"),
    ],
)
def test_bad_configs_fail_before_any_process_starts(config, world_size, message):
    with pytest.raises(ValueError, match=message):
        train_data_parallel(config, world_size)
    with pytest.raises(ValueError, match=message):
        ddp.check_config(config, world_size)
    assert_no_children_left()
