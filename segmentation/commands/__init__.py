"""One module per headless `protolabel` subcommand."""
