"""`python -m xai_files_cli` runs the `xai` command."""

from xai_files_cli.cli.app import main

main()
