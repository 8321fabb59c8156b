"""c04's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c04.3 to c04.5: an MLP and a CNN trained on the digits
# Eight epochs each here (the graded recipes train longer); `device="auto"` uses a GPU when torch
# sees one.

# %%
from dataclasses import replace

from c04_dl_fundamentals import CNN, CNN_RECIPE, MLP, MLP_RECIPE, fit_classifier, load_digits_split, seed_everything

split = load_digits_split()
for name, build, recipe in [("MLP", lambda: MLP(hidden=(128, 64)), MLP_RECIPE), ("CNN", CNN, CNN_RECIPE)]:
    seed_everything(0)
    result = fit_classifier(build(), split, replace(recipe, epochs=8), device="auto")
    print(f"{name}: held-out accuracy {result.test.accuracy:.3f} after 8 epochs on {result.device}")

# %% [markdown]
# ### c04.6: throughput on each device, training and inference
# Samples per second for batch sizes 1, 64 and 512 (every device torch can use).

# %%
from c04_dl_fundamentals import device_table

rows, note = device_table({"MLP": MLP, "CNN": CNN}, [1, 64, 512], iters=3)
print(note)
for row in rows:
    print(row)
