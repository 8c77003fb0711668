"""
Quick start
===========

Fit, predict and score in ten lines.
"""

# sphinx_gallery_thumbnail_path = "_static/thumbnail_quickstart.png"

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from skce import MLPCostClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, random_state=0)
clf = MLPCostClassifier(cost="cross_entropy", learning_rate_init=0.01, random_state=0)
clf.fit(X_train, y_train)
print("predicted:", clf.predict(X_test[:10]), "true:", y_test[:10])
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")
