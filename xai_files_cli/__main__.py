"""`python -m xai_files_cli` runs the `xai` command."""

from xai_files_cli.cli.gc_tuning import collect_garbage_less_often

collect_garbage_less_often()  # before the CLI's imports, which allocate tens of thousands of objects

from xai_files_cli.cli.app import main  # noqa: E402

main()
