"""`python -m bitnexus`: the `bitnexus` command."""

from bitnexus.cli import main

raise SystemExit(main())
