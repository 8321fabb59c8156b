"""c02's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c02.2 to c02.5: four ways to a PCA, against scikit-learn's
# All four classes are scikit-learn estimators (fit / transform / inverse_transform), so they
# line up with `sklearn.decomposition.PCA` on the same data; compare the explained variances
# and the components up to their sign. `IncrementalPCA` keeps only k components between batches,
# so it approximates the full solution (its contract is scikit-learn's `IncrementalPCA`).

# %%
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA

from c02_data import SVDPCA, CovariancePCA, IncrementalPCA, RandomizedPCA, component_errors, relative_errors

x = load_digits().data  # (1797, 64)
reference = PCA(n_components=10, svd_solver="full").fit(x)
for model in (CovariancePCA(10), SVDPCA(10), RandomizedPCA(10), IncrementalPCA(10, batch_size=400)):
    model.fit(x)
    variance_error = relative_errors(model.explained_variance_, reference.explained_variance_).max()
    component_error = component_errors(model.components_, reference.components_).max()
    print(f"{type(model).__name__:15} variance rel. error {variance_error:.1e}   component error {component_error:.1e}")

# %% [markdown]
# ### Reconstruction with fewer components
# How much of the digits each number of components keeps.

# %%
import numpy as np

for k in (2, 10, 30):
    pca = SVDPCA(k).fit(x)
    error = np.linalg.norm(x - pca.inverse_transform(pca.transform(x))) / np.linalg.norm(x - x.mean(axis=0))
    print(f"{k:2} components: relative reconstruction error {error:.3f}")
