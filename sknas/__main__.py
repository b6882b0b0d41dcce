"""``python -m sknas``."""

from .cli import main

raise SystemExit(main())
