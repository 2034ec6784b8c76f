"""python demo.py path/to/digit.png  (same as: nnpy demo …)"""
import sys

from nnpy.cli import main

if __name__ == "__main__":
    main(["demo", *sys.argv[1:]], prog_name="demo.py")
