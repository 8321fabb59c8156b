"""c03_ml_basics: Linear and logistic regression and decision trees, from scratch and with scikit-learn.

Planned module: see README.md for what is coming. It holds no graded tasks yet.
"""
