"""One module per `axc` subcommand: `add_arguments(parser)` and `run(args) -> int`."""
