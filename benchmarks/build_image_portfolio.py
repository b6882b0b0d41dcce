"""Write ``sknas/data/portfolio_images.json``: the known-good CNNs an image search starts with.

Each design is the CNN family's default point (the hand-written CNN of
``benchmarks/images.py``) with a few dimensions changed, decoded for 28x28 grey images;
the genomes fit every image with at least 8 pixels a side (three poolings), and a
search adapts their training parameters to its own space. They carry no ``max_epochs``:
they train the search's default epochs (``sknas.space.families.CNN_STEPS``). The designs
were measured on the development sets only (digits, digits28, shapes32; never
``patterns28``), one torch thread, validation accuracy after each of 12 epochs on the
search's 80/20 split.

In the order a search tries them:

- ``hand16``: the hand CNN with 16, 32 and 64 channels, about a quarter of its
  multiply-adds: digits28 0.975 after 4 epochs, 0.996 at the end (test 0.9956);
  shapes32 1.0 from epoch 8 at 4.3 s an epoch where ``hand`` took 18.9 (machine under
  load). First, so that a short or loaded budget still ends with a strong CNN.
- ``hand``: the default point. digits28 0.990 after 4 epochs, 1.0 from epoch 9 (test
  0.9963); shapes32 1.0 from epoch 8; digits 8x8 0.9926 after 12 epochs (test 0.9956)
  and after 30 (test 0.9978).
- ``residual``: each stage a convolution and a residual block: digits28 0.994 after 3
  epochs, 1.0 from epoch 6 (test 0.9948), about twice ``hand``'s time an epoch; a
  different network for the ensemble.

Run ``python benchmarks/build_image_portfolio.py`` after changing the CNN space.
"""

from __future__ import annotations

import datetime
import json

import sknas
from sknas.space import default_search_space
from sknas.transfer import IMAGE_PORTFOLIO_PATH

#: name -> changes to the CNN family's default point, in the order the search tries them.
DESIGNS: dict[str, dict] = {
    "hand16": {"arch__channels": 16},
    "hand": {},
    "residual": {"arch__residual": True},
}


def main() -> None:
    """Decode every design and write the file."""
    family = default_search_space("classification", max_epochs=50, image_shape=(1, 28, 28))
    family = family["cnn"]
    configurations = []
    for name, changes in DESIGNS.items():
        params, genome = family.decode(family.default_point() | changes)
        del params["max_epochs"]  # a search's default: more epochs on few small images
        configurations.append(
            {"family": "cnn", "params": params, "genome": genome.to_dict(), "name": name}
        )
    data = {
        "format": 1,
        "version": datetime.date.today().isoformat(),
        "sknas_version": sknas.__version__,
        "built_by": "benchmarks/build_image_portfolio.py",
        "configurations": configurations,
    }
    IMAGE_PORTFOLIO_PATH.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {len(configurations)} designs to {IMAGE_PORTFOLIO_PATH}")


if __name__ == "__main__":
    main()
