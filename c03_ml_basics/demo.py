"""c03's demonstration, turned into the module's companion notebook by ``make notebooks``."""

# %% [markdown]
# ### c03.1: least squares against scikit-learn
# The same fit/predict conventions as scikit-learn, so the two can be compared line by line.

# %%
from sklearn.linear_model import LinearRegression

from c03_ml_basics import LeastSquaresRegressor, holdout_split, load, r2

diabetes = holdout_split(load("diabetes"))
ours = LeastSquaresRegressor().fit(diabetes.x_train, diabetes.y_train)
theirs = LinearRegression().fit(diabetes.x_train, diabetes.y_train)
print(f"held-out R²: ours {r2(diabetes.y_test, ours.predict(diabetes.x_test)):.4f}, "
      f"scikit-learn {theirs.score(diabetes.x_test, diabetes.y_test):.4f}")

# %% [markdown]
# ### c03.2 and c03.3: logistic regression and a decision tree, cross-validated (c03.4's folds)

# %%
from c03_ml_basics import CARTClassifier, LogisticClassifier, cross_val_scores

cancer = load("breast_cancer")
for model in (LogisticClassifier(), CARTClassifier(max_depth=4)):
    scores = cross_val_scores(model, cancer.x, cancer.y, cv=5, random_state=0)
    print(f"{type(model).__name__:20} 5-fold accuracy {scores.mean():.3f} ± {scores.std():.3f}")

# %% [markdown]
# ### c03.4: error analysis
# Where the tree goes wrong on held-out data, from the confusion matrix.

# %%
from c03_ml_basics import accuracy, confusion_matrix

split = holdout_split(cancer)
tree = CARTClassifier(max_depth=4).fit(split.x_train, split.y_train)
predicted = tree.predict(split.x_test)
print(f"held-out accuracy {accuracy(split.y_test, predicted):.3f}; confusion matrix (rows: true class):")
print(confusion_matrix(split.y_test, predicted))
