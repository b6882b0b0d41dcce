"""sknas inside existing scikit-learn code: a Pipeline, cross-validation, and a pickle for serving.

Run: ``python examples/pipeline_and_serving.py`` (about 15 seconds on 2 CPU cores).
"""

import pickle

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sknas import NASClassifier

X, y = load_breast_cancer(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)

# 1. Cross-validate a pipeline: every fold runs its own small search.
pipeline = make_pipeline(StandardScaler(), NASClassifier(n_trials=8, max_epochs=20, random_state=0))
scores = cross_val_score(pipeline, X_train, y_train, cv=3)
print(f"3-fold accuracy: {scores.mean():.3f} ± {scores.std():.3f}")

# 2. Fit once on the training data and look at the search.
pipeline.fit(X_train, y_train)
search = pipeline[-1]
print(search.leaderboard_[["trial_id", "family", "proposer", "state", "score"]].head())
print("ensemble:", search.ensemble_)

# 3. Pickle for serving; the model holds numpy weights only, so it loads without a GPU.
payload = pickle.dumps(pipeline)
served = pickle.loads(payload)
print(f"pickle: {len(payload) / 1024:.0f} KiB; test accuracy {served.score(X_test, y_test):.3f}")
