"""Stream a sample from a trained checkpoint: ``python -m c05_nlp_transformers.sample``.

::

    python -m c05_nlp_transformers.train --config reference           # writes build/c05_gpt/model.safetensors
    python -m c05_nlp_transformers.sample --prompt "ROMEO:" --temperature 0.8 --top-k 20

The text appears character by character as :func:`~c05_nlp_transformers.generate.stream` yields
each token. ``--stop`` ends the sample at a piece of text (not printed), ``--seed`` makes it repeatable.
``--device auto|cpu|cuda`` is where the model runs (``auto``: CUDA when present); the tokens are
drawn on the CPU from the seeded generator, so a seed gives the same sample wherever the logits
were computed (up to the device's rounding).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from c05_nlp_transformers.generate import stream
from c05_nlp_transformers.sampling import SamplingConfig
from c05_nlp_transformers.train import DEVICE_CHOICES, DeviceUnavailableError, load_checkpoint, resolve_device


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: stream a sample from a checkpoint written by ``train.py``."""
    parser = argparse.ArgumentParser(prog="python -m c05_nlp_transformers.sample", description=main.__doc__)
    parser.add_argument("--checkpoint", default="build/c05_gpt/model.safetensors")
    parser.add_argument("--prompt", default="\n")
    parser.add_argument("--max-new-tokens", type=int, default=300)
    parser.add_argument("--temperature", type=float, default=0.8)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--top-p", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--stop", default=None, help="stop at this text (not printed)")
    parser.add_argument("--device", default="auto", help=f"{', '.join(DEVICE_CHOICES)} or cuda:N (default: auto)")
    args = parser.parse_args(argv)
    try:
        device = resolve_device(args.device)
    except (DeviceUnavailableError, ValueError) as err:
        parser.error(str(err))  # exits with status 2 and the message
    model, tokenizer = load_checkpoint(args.checkpoint, device=device)
    sampling = SamplingConfig(args.temperature, args.top_k, args.top_p)
    stops = [tokenizer.encode(args.stop)] if args.stop else []
    sys.stdout.write(args.prompt)
    for token in stream(model, tokenizer.encode(args.prompt), args.max_new_tokens, sampling=sampling,
                        seed=args.seed, stop_sequences=stops):
        sys.stdout.write(tokenizer.decode([token]))
        sys.stdout.flush()
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
