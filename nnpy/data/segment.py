"""Old path, kept so existing imports work; the code lives in nnpy.digits.segment."""
from ..digits.segment import (CUTS_KEPT, CUT_BEND, CUT_COST, CUT_INK, CUT_REACH, CUT_STEP,
                              DIGIT_WIDTH, FORCED_CUT_INK, INK_COST, INK_POWER, MERGE_OVERLAP, ONE,
                              ONE_WIDTH, PIECE_HEIGHT, PIECE_MIN_HEIGHT, PIECE_MIN_INK,
                              PIECE_MIN_WIDTH, SPECK_MASS, SPLIT_WIDTH, TRY_SPLIT_WIDTH,
                              VALLEY_DEPTH, WIDTH_SCALE, WIDTH_WEIGHT, RowStages, looks_like_a_row,
                              segment_row, width_cost)

__all__ = ["CUTS_KEPT", "CUT_BEND", "CUT_COST", "CUT_INK", "CUT_REACH", "CUT_STEP", "DIGIT_WIDTH",
           "FORCED_CUT_INK", "INK_COST", "INK_POWER", "MERGE_OVERLAP", "ONE", "ONE_WIDTH",
           "PIECE_HEIGHT", "PIECE_MIN_HEIGHT", "PIECE_MIN_INK", "PIECE_MIN_WIDTH", "RowStages",
           "SPECK_MASS", "SPLIT_WIDTH", "TRY_SPLIT_WIDTH", "VALLEY_DEPTH", "WIDTH_SCALE",
           "WIDTH_WEIGHT", "looks_like_a_row", "segment_row", "width_cost"]
