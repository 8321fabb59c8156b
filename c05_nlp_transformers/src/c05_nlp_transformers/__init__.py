"""c05 part 1: a transformer language model from its parts, trained from scratch on Tiny Shakespeare.

One concept per file, in the order of the tasks:

* :mod:`~c05_nlp_transformers.data` - the data home, Tiny Shakespeare (sha256-verified), characters, split, batches;
* :mod:`~c05_nlp_transformers.bpe`, :mod:`~c05_nlp_transformers.bpe_train`, :mod:`~c05_nlp_transformers.byte_level` -
  a byte-level BPE tokenizer
  (GPT-2 style): training, encoding with a rank table and a heap, decoding, GPT-2 vocab/merges files (c05.1);
* :mod:`~c05_nlp_transformers.positional` - sinusoidal, learned and rotary position encodings (c05.2);
* :mod:`~c05_nlp_transformers.attention` - scaled dot-product, causal/padding masks, multi-head and
  grouped-query attention (c05.3);
* :mod:`~c05_nlp_transformers.model`, :mod:`~c05_nlp_transformers.train` - a GPT and its training (c05.4);
* :mod:`~c05_nlp_transformers.kv_cache`, :mod:`~c05_nlp_transformers.sampling`,
  :mod:`~c05_nlp_transformers.generate` - a preallocated KV cache, samplers, streaming generation (c05.5);
* :mod:`~c05_nlp_transformers.sample` - stream a sample from a trained checkpoint (``python -m ...sample``);
* :mod:`~c05_nlp_transformers.bench` - tokenizer, training and generation speed
  (``python -m c05_nlp_transformers.bench``).

Part 2 loads SmolLM2-135M-Instruct from GGUF with these same components:

* :mod:`~c05_nlp_transformers.gguf` - a GGUF reader and Q4_1 / Q8_0 / F32 dequantisation (c05.6);
* :mod:`~c05_nlp_transformers.llama`, :mod:`~c05_nlp_transformers.llama_tokenizer` - the Llama
  architecture, the tokenizer and the chat template from the GGUF metadata (c05.7);
* :mod:`~c05_nlp_transformers.inference`, :mod:`~c05_nlp_transformers.chat` - fast generation and the
  chat API other modules use (c05.8);
* :mod:`~c05_nlp_transformers.quantize` - int8 weights (c05.9);
* :mod:`~c05_nlp_transformers.lora`, :mod:`~c05_nlp_transformers.squad`,
  :mod:`~c05_nlp_transformers.finetune` - LoRA and an XQuAD fine-tune (c05.10);
* :mod:`~c05_nlp_transformers.bench_llm` - SmolLM2 rows of the benchmark.
* :mod:`~c05_nlp_transformers.bench_table` - the benchmark's row type and its table.
"""

from c05_nlp_transformers.attention import MultiHeadAttention, causal_mask, padding_mask, scaled_dot_product_attention
from c05_nlp_transformers.bpe import BPETokenizer
from c05_nlp_transformers.bpe_train import BPETrainResult, merge_pair, train_bpe
from c05_nlp_transformers.byte_level import bytes_to_unicode

# Part 2: chat.py imports the whole SmolLM2 stack (gguf, llama, inference, quantize, lora).
from c05_nlp_transformers.chat import ChatModel, ChatResult, load_chat_model
from c05_nlp_transformers.data import (
    DATA_HOME_ENV,
    TINYSHAKESPEARE,
    CharTokenizer,
    ChecksumError,
    DataFile,
    data_home,
    fetch,
    get_batch,
    load_tinyshakespeare,
    train_val_split,
)
from c05_nlp_transformers.generate import CausalLM, generate, stream, window_start
from c05_nlp_transformers.kv_cache import KVCache, LayerKVCache
from c05_nlp_transformers.model import GPT, Block, GPTConfig
from c05_nlp_transformers.positional import (
    LearnedPositionalEmbedding,
    RotaryEmbedding,
    SinusoidalPositionalEncoding,
    sinusoidal_table,
)
from c05_nlp_transformers.pretokenize import GPT2_PATTERN
from c05_nlp_transformers.sampling import SamplingConfig, probabilities, sample, top_k_filter, top_p_filter

__all__ = [
    "DATA_HOME_ENV",
    "GPT",
    "GPT2_PATTERN",
    "TINYSHAKESPEARE",
    "BPETokenizer",
    "BPETrainResult",
    "Block",
    "CausalLM",
    "CharTokenizer",
    "ChatModel",
    "ChatResult",
    "ChecksumError",
    "DataFile",
    "GPTConfig",
    "KVCache",
    "LayerKVCache",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "RotaryEmbedding",
    "SamplingConfig",
    "SinusoidalPositionalEncoding",
    "bytes_to_unicode",
    "causal_mask",
    "data_home",
    "fetch",
    "generate",
    "get_batch",
    "load_chat_model",
    "load_tinyshakespeare",
    "merge_pair",
    "padding_mask",
    "probabilities",
    "sample",
    "scaled_dot_product_attention",
    "sinusoidal_table",
    "stream",
    "top_k_filter",
    "top_p_filter",
    "train_bpe",
    "train_val_split",
    "window_start",
]
