"""python val.py --ckpt checkpoints/mlp/best.json  (same as: nnpy val --ckpt …)"""
import sys

from nnpy.cli import main

if __name__ == "__main__":
    main(["val", *sys.argv[1:]], prog_name="val.py")
