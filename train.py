"""python train.py --config configs/mlp.yaml  (same as: nnpy train --config …)"""
import sys

from nnpy.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]], prog_name="train.py")
