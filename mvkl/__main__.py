"""``python -m mvkl`` (also ``torchrun -m mvkl pretrain ...``)."""

from mvkl.cli.main import run

if __name__ == "__main__":
    run()
