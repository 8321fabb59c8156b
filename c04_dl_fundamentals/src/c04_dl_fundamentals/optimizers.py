"""Optimizers from scratch: SGD (momentum, Nesterov), Adam and AdamW (task c04.2).

An optimizer turns gradients into parameter updates. ``torch.optim.Optimizer``
already does the bookkeeping (parameter groups, ``zero_grad``, ``state_dict``);
a subclass only validates its hyperparameters and writes ``step``. Ours are
written that way, so they drop into any torch training loop and save and load
through the same ``state_dict`` as torch's own.

The update rules, for a parameter p with gradient g at step t (1-based):

* **SGD**: ``g += wd * p``; with momentum μ, a velocity ``v = g`` on the first
  step, then ``v = μ v + (1 - dampening) g``; the step direction is ``v``, or
  ``g + μ v`` with Nesterov (look ahead along the velocity); ``p -= lr * step``.
* **Adam**: ``g += wd * p`` (an L2 penalty folded into the gradient);
  ``m = β1 m + (1 - β1) g``, ``v = β2 v + (1 - β2) g²``; the bias-corrected step
  is ``p -= lr / (1 - β1^t) * m / (sqrt(v) / sqrt(1 - β2^t) + eps)``.
* **AdamW**: Adam without the L2 term; instead the weights decay directly,
  ``p *= 1 - lr * wd``, before the Adam step ("decoupled" weight decay, which
  is not rescaled by the adaptive denominator).

The tests run 100 steps of each against ``torch.optim`` (``foreach=False``,
its plain per-tensor loop) and require the same parameters within 1e-6. To get
there, do the arithmetic in the same order as torch does: floating point
addition is not associative, and differences compound over 100 steps.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.optim.optimizer import Optimizer, ParamsT


def _check_range(name: str, value: float, low: float, high: float = math.inf, *, high_open: bool = False) -> None:
    """ValueError unless ``low <= value <= high`` (``< high`` with ``high_open``), e.g. ``lr``."""
    # BEGIN SOLUTION c04.2: one clear message naming the hyperparameter, its value and the valid range
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    too_high = value >= high if high_open else value > high
    if value < low or too_high:
        bracket = ")" if high_open else "]"
        raise ValueError(f"invalid {name} {value}: must lie in [{low}, {high}{bracket}")
    # END SOLUTION


def _gradient(param: torch.Tensor) -> torch.Tensor:
    """The parameter's gradient; sparse gradients are refused (none of these optimizers supports them)."""
    grad = param.grad
    assert grad is not None
    if grad.is_sparse:
        raise RuntimeError("this optimizer does not support sparse gradients")
    return grad


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    Same arguments, defaults and results as ``torch.optim.SGD``.
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        # BEGIN SOLUTION c04.2: validate (all >= 0; Nesterov: momentum > 0, dampening 0), super().__init__
        _check_range("lr", lr, 0.0)
        _check_range("momentum", momentum, 0.0)
        _check_range("dampening", dampening, 0.0)
        _check_range("weight_decay", weight_decay, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires momentum > 0 and dampening = 0")
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": bool(nesterov),
        }
        super().__init__(params, defaults)
        # END SOLUTION

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        # BEGIN SOLUTION c04.2: per param: weight decay, velocity (a clone at first), Nesterov, p -= lr * d
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = _gradient(param)
                if weight_decay != 0:
                    grad = grad.add(param, alpha=weight_decay)
                if momentum != 0:
                    state = self.state[param]
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = grad.detach().clone()  # first step: the velocity is the gradient
                        state["momentum_buffer"] = buf
                    else:
                        buf.mul_(momentum).add_(grad, alpha=1 - dampening)
                    grad = grad.add(buf, alpha=momentum) if nesterov else buf
                param.add_(grad, alpha=-lr)
        return loss
        # END SOLUTION


class Adam(Optimizer):
    """Adam with bias correction and an optional L2 penalty; same results as ``torch.optim.Adam``.

    ``decoupled_weight_decay=True`` turns it into AdamW (used by :class:`AdamW`).
    """

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        *,
        decoupled_weight_decay: bool = False,
    ) -> None:
        # BEGIN SOLUTION c04.2: validate (lr, eps, weight_decay >= 0; betas in [0, 1)), super().__init__
        _check_range("lr", lr, 0.0)
        _check_range("eps", eps, 0.0)
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        _check_range("beta1", betas[0], 0.0, 1.0, high_open=True)
        _check_range("beta2", betas[1], 0.0, 1.0, high_open=True)
        _check_range("weight_decay", weight_decay, 0.0)
        defaults = {
            "lr": lr,
            "betas": (float(betas[0]), float(betas[1])),
            "eps": eps,
            "weight_decay": weight_decay,
            "decoupled_weight_decay": bool(decoupled_weight_decay),
        }
        super().__init__(params, defaults)
        # END SOLUTION

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        # BEGIN SOLUTION c04.2: lazy state (step, exp_avg, exp_avg_sq), decay, moments, bias-correct, step
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, eps, weight_decay = group["lr"], group["eps"], group["weight_decay"]
            beta1, beta2 = group["betas"]
            for param in group["params"]:
                if param.grad is None:
                    continue
                grad = _gradient(param)
                state = self.state[param]
                if not state:
                    state["step"] = torch.tensor(0.0)  # a tensor, like torch's, so state_dicts are interchangeable
                    state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                    state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                exp_avg, exp_avg_sq, step_t = state["exp_avg"], state["exp_avg_sq"], state["step"]
                step_t += 1
                if weight_decay != 0:
                    if group["decoupled_weight_decay"]:
                        param.mul_(1 - lr * weight_decay)  # AdamW: decay the weights, not the gradient
                    else:
                        grad = grad.add(param, alpha=weight_decay)
                exp_avg.lerp_(grad, 1 - beta1)  # m = beta1 m + (1 - beta1) g
                exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)  # v = beta2 v + (1 - beta2) g^2
                step = step_t.item()
                bias_correction1 = 1 - beta1**step
                bias_correction2 = 1 - beta2**step
                step_size = lr / bias_correction1
                denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(eps)
                param.addcdiv_(exp_avg, denom, value=-step_size)
        return loss
        # END SOLUTION


class AdamW(Adam):
    """Adam with decoupled weight decay (default 0.01, like ``torch.optim.AdamW``)."""

    def __init__(
        self,
        params: ParamsT,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, decoupled_weight_decay=True)

