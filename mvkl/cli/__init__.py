"""The command-line layer (Typer): one module per command group, registered by :mod:`mvkl.cli.main`.

Commands only parse options, call the library and render results (README "CLI conventions").
Nothing outside this package (and the ``python -m mvkl`` entry point) imports it:
``tests/test_layers.py`` checks that with :mod:`mvkl.tools.layers`.
"""
