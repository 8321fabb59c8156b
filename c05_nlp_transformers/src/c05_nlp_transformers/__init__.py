"""c05_nlp_transformers.

Transformers: BPE tokenizer, positional encodings, attention, KV cache, sampling, GGUF, INT8 and LoRA.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
