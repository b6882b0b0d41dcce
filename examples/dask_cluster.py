"""The same search on a Dask cluster: ``joblib.parallel_config(backend="dask")``.

sknas runs its trials through joblib, so the code that searches on this machine's
cores searches on a cluster once a ``distributed.Client`` is connected and joblib's
Dask backend is active. Each trial is one Dask future; the training data is
scattered to the workers once; a worker that dies fails only the trial it ran.
This example starts a local cluster of two worker processes; on a real cluster,
connect with ``Client("tcp://scheduler:8786")`` instead. Run::

    python examples/dask_cluster.py [--n-trials 12] [--workers 2] [--seed 0]
"""

from __future__ import annotations

import argparse

import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from sknas import NASClassifier


def main(argv: list[str] | None = None) -> float:
    """Search digits on a local Dask cluster; return the test accuracy."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-trials", type=int, default=12)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=args.seed)
    with (
        LocalCluster(
            n_workers=args.workers, threads_per_worker=1, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers")
        with joblib.parallel_config(backend="dask"):
            clf = NASClassifier(
                n_trials=args.n_trials,
                max_epochs=args.max_epochs,
                n_jobs=-1,  # every worker thread of the cluster
                random_state=args.seed,
            ).fit(X_train, y_train)
    accuracy = clf.score(X_test, y_test)
    print(clf.leaderboard_[["trial_id", "family", "state", "score"]].head().to_string())
    print(f"{clf.n_trials_} trials on the cluster; test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
